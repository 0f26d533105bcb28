/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One page over HTTP (--metrics): libmicrohttpd on a socket of our own,
 * run from the event loop (no thread of its own), so that a page is made
 * between two batches of events, never while one is handled.
 *
 * GET (or HEAD) of the path gets the page; anything else 404 or 405. At
 * most ST_HTTP_CLIENTS clients at once, each given ST_HTTP_TIMEOUT_S of
 * silence: a client that connects and never reads holds one of them that
 * long, and the loop goes on. At ST_HTTP_CLIENTS libmicrohttpd stops
 * accepting: the next clients wait in the listening socket's queue (64)
 * and are answered as places free; none is refused.
 */
#ifndef SOCKTRACE_HTTP_H
#define SOCKTRACE_HTTP_H
#include <stdio.h>
#include <sys/socket.h>

#define ST_HTTP_CLIENTS		16
#define ST_HTTP_TIMEOUT_S	10

/* The page: written to @f; 0, or -errno for a 500 */
typedef int (*st_http_page_fn)(void *ctx, FILE *f);

struct st_http {
	struct MHD_Daemon *daemon;
	int fd;				/* the listening socket, or -1 */
	const char *path;		/* "/metrics" */
	const char *content_type;
	st_http_page_fn page;
	void *ctx;
	char where[80];			/* "127.0.0.1:9100", the port chosen if 0 */
};

/*
 * Parses "[ADDR:]PORT": PORT alone is 127.0.0.1's; ADDR an IPv4 address,
 * an IPv6 one in brackets, or "localhost". PORT 0 takes a free one.
 * 0, or -EINVAL.
 */
int st_http_parse_addr(const char *arg, struct sockaddr_storage *ss, socklen_t *len);

/* Listens on @ss and serves @page at @path; 0, or -errno after one line. */
int st_http_open(struct st_http *h, const struct sockaddr_storage *ss, socklen_t len,
		 const char *path, const char *content_type, st_http_page_fn page, void *ctx);

/* For the event loop to watch: readable when a client wants something */
int st_http_fd(const struct st_http *h);

/* Serves what is ready, without waiting */
void st_http_run(struct st_http *h);

void st_http_close(struct st_http *h);

#endif
