// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#ifndef ST_NO_HTTP
#include <microhttpd.h>
#endif
#include "args.h"
#include "http.h"
#include "log.h"

int st_http_parse_addr(const char *arg, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	const char *colon = strrchr(arg, ':'), *port = colon ? colon + 1 : arg;
	char host[INET6_ADDRSTRLEN + 2] = "127.0.0.1";
	unsigned long long p;
	size_t hlen = colon ? (size_t)(colon - arg) : 0;

	if (st_parse_num(port, 0, 65535, &p))
		return -EINVAL;
	if (colon) {
		if (hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, arg, hlen);
		host[hlen] = '\0';
	}
	memset(ss, 0, sizeof(*ss));
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (host[0] == '[' && hlen >= 2 && host[hlen - 1] == ']') {
		host[hlen - 1] = '\0';
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(p);
		*len = sizeof(*in6);
		return inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	in4->sin_family = AF_INET;
	in4->sin_port = htons(p);
	*len = sizeof(*in4);
	return inet_pton(AF_INET, host, &in4->sin_addr) == 1 ? 0 : -EINVAL;
}

#ifndef ST_NO_HTTP
/* "ADDR:PORT" of @ss into h->where */
static void describe(struct st_http *h, const struct sockaddr_storage *ss)
{
	char a[INET6_ADDRSTRLEN] = "?";
	const void *addr;
	int port;

	if (ss->ss_family == AF_INET6) {
		addr = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	} else {
		addr = &((const struct sockaddr_in *)ss)->sin_addr;
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	}
	inet_ntop(ss->ss_family, addr, a, sizeof(a));
	snprintf(h->where, sizeof(h->where), ss->ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d",
		 a, port);
}

/* Our own socket, so that a port in use or an address not ours is said as the kernel says it */
static int listen_on(struct st_http *h, const struct sockaddr_storage *ss, socklen_t len)
{
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	int one = 1;

	describe(h, ss);
	h->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (h->fd < 0)
		return -errno;
	setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->fd, (const struct sockaddr *)ss, len) || listen(h->fd, 64))
		return -errno;
	if (!getsockname(h->fd, (struct sockaddr *)&bound, &blen))
		describe(h, &bound);	/* the port the kernel chose, for port 0 */
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *type,
			     char *body, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;		/* the connection is closed */
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int status, const char *text)
{
	char *body = strdup(text);

	return body ? reply(c, status, "text/plain; charset=utf-8", body, strlen(body)) : MHD_NO;
}

/* The page, made now */
static enum MHD_Result serve_page(struct st_http *h, struct MHD_Connection *c)
{
	char *body = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);
	int err = f ? h->page(h->ctx, f) : -ENOMEM;

	if (f && fclose(f) && !err)
		err = -ENOMEM;
	if (err) {
		free(body);
		st_err("--metrics: failed to make the page: %s", st_strerror(-err));
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "could not read the counters\n");
	}
	return reply(c, MHD_HTTP_OK, h->content_type, body, len);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **state)
{
	struct st_http *h = cls;

	(void)version;
	(void)upload;
	if (!*state) {		/* the headers: the body, if any, comes next */
		*state = h;
		return MHD_YES;
	}
	if (*upload_len) {	/* a body is not wanted: dropped */
		*upload_len = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (strcmp(url, h->path))
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n");
	return serve_page(h, c);
}

/* libmicrohttpd's messages are about clients: for --debug only */
static void on_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	(void)cls;
	if (!st_debug)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	st_err("--metrics: %s", msg);
}

int st_http_open(struct st_http *h, const struct sockaddr_storage *ss, socklen_t len,
		 const char *path, const char *content_type, st_http_page_fn page, void *ctx)
{
	int err;

	h->path = path;
	h->content_type = content_type;
	h->page = page;
	h->ctx = ctx;
	err = listen_on(h, ss, len);
	if (err) {
		st_err("--metrics: cannot listen on %s: %s", h->where, st_strerror(-err));
		return err;
	}
	h->daemon = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				     on_request, h,
				     MHD_OPTION_LISTEN_SOCKET, h->fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)ST_HTTP_CLIENTS,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)ST_HTTP_TIMEOUT_S,
				     MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL,
				     MHD_OPTION_END);
	if (!h->daemon) {
		st_err("--metrics: the HTTP server did not start on %s", h->where);
		return -EINVAL;
	}
	return 0;
}

int st_http_fd(const struct st_http *h)
{
	const union MHD_DaemonInfo *i;

	if (!h->daemon)
		return -1;
	i = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	return i ? i->epoll_fd : -1;
}

void st_http_run(struct st_http *h)
{
	if (h->daemon)
		MHD_run(h->daemon);
}

void st_http_close(struct st_http *h)
{
	if (h->daemon)
		MHD_stop_daemon(h->daemon);	/* which closes the socket it was given */
	else if (h->fd >= 0)
		close(h->fd);
	h->daemon = NULL;
	h->fd = -1;
}

#else	/* a build without libmicrohttpd (HTTP=0, or STATIC=1 cross builds) */

int st_http_open(struct st_http *h, const struct sockaddr_storage *ss, socklen_t len,
		 const char *path, const char *content_type, st_http_page_fn page, void *ctx)
{
	(void)h, (void)ss, (void)len, (void)path, (void)content_type, (void)page, (void)ctx;
	st_err("--metrics: this build has no HTTP server (built with HTTP=0, without libmicrohttpd)");
	return -EOPNOTSUPP;
}

int st_http_fd(const struct st_http *h)
{
	(void)h;
	return -1;
}

void st_http_run(struct st_http *h)
{
	(void)h;
}

void st_http_close(struct st_http *h)
{
	h->fd = -1;
}
#endif
