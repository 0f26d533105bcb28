// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * loadgen: a bounded socket workload on loopback for the socktrace bench.
 *
 *   loadgen [--mode MODE[,MODE...]] [-n CYCLES] [-t SECONDS] [-r CYCLES_PER_S]
 *           [-T THREADS]
 *
 * One cycle runs each MODE once, back to back, in one thread; with -T, each
 * of THREADS threads of this one process runs its share of the cycles (and
 * of the rate) against servers of its own (the dns modes' nameserver is the
 * one the resolver configuration names), so that one machine's CPUs can
 * all make load (the bench's peak). One process: a tracer's PID filter and
 * "printed for the workload's PID" hold for every thread.
 *   tcp4, tcp6  socket, connect to a listener on 127.0.0.1 / ::1, accept, close
 *               the client, then the accepted socket (1 connect, 1 accept,
 *               2 closes of an established connection)
 *   udp4, udp6  a fresh socket connect()s to a local UDP server and sends one
 *               datagram; a second fresh socket sends one datagram with sendto()
 *               without connecting (1 connect, 1 first send of an unconnected
 *               socket to a destination)
 *   unix        AF_UNIX stream connect to a listener on a filesystem path, accept,
 *               close both (1 connect, 1 accept)
 *   dns4, dns6  a DNS lookup as glibc's resolver makes it: a fresh UDP socket
 *               connect()s to the first IPv4 / IPv6 nameserver of the resolver
 *               configuration, sends a query for the A / AAAA record of a fixed
 *               name, poll()s and recv()s the answer (a NOERROR one with at
 *               least one answer record, or loadgen fails), closes (1 connect,
 *               counted as udp4_connect / udp6_connect, and 1 answer)
 *   tcp = tcp4,tcp6; udp = udp4,udp6; dns = dns4,dns6;
 *   all = tcp4,tcp6,udp4,udp6,unix (not dns: it needs a server)
 *
 * With a rate, a thread's cycle i starts no earlier than i / RATE seconds after its first
 * (a steady load for the bench's peak and soak); without, back to back.
 * It stops after CYCLES cycles or SECONDS seconds, whichever comes first, and
 * prints on stdout the cycles per second and how many events of each kind it
 * generated (only successful calls count), so that a tracer's "printed + lost"
 * can be checked against "generated".  Loopback and Unix sockets only: a
 * nameserver that is not a loopback address is refused, so that the dns modes
 * never send their thousands of queries to a real resolver.  The bench runs
 * them in a network namespace of their own, with a dnsmasq on its loopback.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

enum mode { M_TCP4, M_TCP6, M_UDP4, M_UDP6, M_UNIX, M_DNS4, M_DNS6, M_MAX };

static const char *mode_names[M_MAX] = {
	"tcp4", "tcp6", "udp4", "udp6", "unix", "dns4", "dns6"
};

enum kind {
	K_TCP4_CONNECT, K_TCP4_ACCEPT, K_TCP4_CLOSE,
	K_TCP6_CONNECT, K_TCP6_ACCEPT, K_TCP6_CLOSE,
	K_UDP4_CONNECT, K_UDP4_SEND, K_UDP6_CONNECT, K_UDP6_SEND,
	K_UNIX_CONNECT, K_UNIX_ACCEPT, K_DNS4_ANSWER, K_DNS6_ANSWER, K_MAX
};

static const char *kind_names[K_MAX] = {
	"tcp4_connect", "tcp4_accept", "tcp4_close",
	"tcp6_connect", "tcp6_accept", "tcp6_close",
	"udp4_connect", "udp4_send", "udp6_connect", "udp6_send",
	"unix_connect", "unix_accept", "dns4_answer", "dns6_answer",
};

#define DNS_PORT	53
#define DNS_TYPE_A	1
#define DNS_TYPE_AAAA	28
#define DNS_CLASS_IN	1
#define DNS_TIMEOUT_MS	2000
#define DNS_QUERY_MAX	(12 + 255 + 4)	/* header, the name, type and class */

/* what the dns modes ask, and where from */
static const char *dns_name = "bench.socktrace.test";
static const char *resolv_conf = "/etc/resolv.conf";


struct target {
	int fd;				/* listener or UDP server */
	struct sockaddr_storage addr;	/* where clients go */
	socklen_t len;
};

#define THREADS_MAX	64

/* each thread's own, summed at the end */
static _Thread_local unsigned long long counts[K_MAX];
/* the Unix listeners, one a thread, in one directory */
static char unix_dir[] = "/tmp/loadgen.XXXXXX";
static char unix_paths[THREADS_MAX][sizeof(unix_dir) + 16];

static void remove_unix(void)
{
	int i;

	for (i = 0; i < THREADS_MAX; i++)
		if (unix_paths[i][0])
			unlink(unix_paths[i]);
	if (strcmp(unix_dir, "/tmp/loadgen.XXXXXX"))
		rmdir(unix_dir);
}

/*
 * Ends the process, from any thread: the first caller removes the Unix
 * sockets and exits; another, failing at once, waits on the lock for that
 * exit (exit() is not to be run twice at once).
 */
static void die(void)
{
	static pthread_mutex_t dying = PTHREAD_MUTEX_INITIALIZER;

	pthread_mutex_lock(&dying);
	remove_unix();
	exit(1);
}

static void fail(const char *what)
{
	fprintf(stderr, "loadgen: failed to %s: %s\n", what, strerror(errno));
	die();
}

static void loopback(int family, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		*len = sizeof(*sin6);
	}
}

/* A server on loopback, port 0; the port the kernel chose is read back. */
static void inet_server(struct target *t, int family, int type)
{
	int one = 1;

	t->fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		fail("create a server socket");
	if (family == AF_INET6 &&
	    setsockopt(t->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		fail("set IPV6_V6ONLY");
	loopback(family, &t->addr, &t->len);
	if (bind(t->fd, (struct sockaddr *)&t->addr, t->len))
		fail("bind a loopback server");
	if (getsockname(t->fd, (struct sockaddr *)&t->addr, &t->len))
		fail("read the server's address");
	if (type == SOCK_STREAM && listen(t->fd, 128))
		fail("listen");
}

/* Thread @idx's listener, in unix_dir (made by main()) */
static void unix_server(struct target *t, int idx)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&t->addr;
	char *unix_path = unix_paths[idx];

	snprintf(unix_path, sizeof(unix_paths[idx]), "%s/sock%d", unix_dir, idx);
	t->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		fail("create a Unix socket");
	memset(&t->addr, 0, sizeof(t->addr));
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, unix_path);
	t->len = sizeof(*sun);
	if (bind(t->fd, (struct sockaddr *)sun, t->len) || listen(t->fd, 128))
		fail("bind and listen on a Unix socket");
}

/* connect, accept, close the client first (its TIME_WAIT is reusable on lo) */
static void stream_cycle(const struct target *t, enum kind k_connect, enum kind k_accept,
			 enum kind k_close)
{
	int c, a;

	c = socket(t->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		fail("create a client socket");
	if (connect(c, (const struct sockaddr *)&t->addr, t->len))
		fail("connect");
	counts[k_connect]++;
	a = accept4(t->fd, NULL, NULL, SOCK_CLOEXEC);
	if (a < 0)
		fail("accept");
	counts[k_accept]++;
	close(c);
	close(a);
	if (k_close != K_MAX)
		counts[k_close] += 2;
}

static void drain(int fd)
{
	char buf[64];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

static void udp_cycle(const struct target *t, enum kind k_connect, enum kind k_send)
{
	const struct sockaddr *sa = (const struct sockaddr *)&t->addr;
	int s;

	s = socket(t->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		fail("create a UDP socket");
	if (connect(s, sa, t->len))
		fail("connect a UDP socket");
	counts[k_connect]++;
	if (send(s, "c", 1, 0) != 1)
		fail("send on a connected UDP socket");
	close(s);
	s = socket(t->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		fail("create a UDP socket");
	if (sendto(s, "s", 1, 0, sa, t->len) != 1)
		fail("sendto from an unconnected UDP socket");
	counts[k_send]++;
	close(s);
	drain(t->fd);
}

/*
 * The first nameserver of @family in the resolver configuration, port 53;
 * a loopback address only.
 */
static void dns_server(struct target *t, int family)
{
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	char line[256], addr[INET6_ADDRSTRLEN + 16], *pct;
	bool found = false;
	FILE *f;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	f = fopen(resolv_conf, "re");
	if (!f) {
		fprintf(stderr, "loadgen: cannot read %s: %s\n", resolv_conf, strerror(errno));
		die();
	}
	while (!found && fgets(line, sizeof(line), f)) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->addr;
		struct sockaddr_in *sin = (struct sockaddr_in *)&t->addr;

		if (sscanf(line, " nameserver %45s", addr) != 1)
			continue;
		pct = strchr(addr, '%');	/* an IPv6 scope: not loopback anyway */
		if (pct)
			*pct = '\0';
		loopback(family, &t->addr, &t->len);
		if (family == AF_INET) {
			found = inet_pton(AF_INET, addr, &sin->sin_addr) == 1;
			if (found && (ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
				fprintf(stderr, "loadgen: nameserver %s in %s is not a loopback "
					"address: refused\n", addr, resolv_conf);
				die();
			}
			sin->sin_port = htons(DNS_PORT);
		} else {
			found = inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1;
			if (found && !IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
				fprintf(stderr, "loadgen: nameserver %s in %s is not a loopback "
					"address: refused\n", addr, resolv_conf);
				die();
			}
			sin6->sin6_port = htons(DNS_PORT);
		}
	}
	fclose(f);
	if (!found) {
		fprintf(stderr, "loadgen: no %s nameserver in %s\n", fam, resolv_conf);
		die();
	}
}

/* A query for @name's record of @type, recursion desired: its length */
static size_t dns_query(unsigned char *q, unsigned short id, const char *name, int type)
{
	const char *label = name, *dot;
	size_t n = 12, len;

	memset(q, 0, 12);
	q[0] = id >> 8;
	q[1] = id & 0xff;
	q[2] = 0x01;		/* RD */
	q[5] = 1;		/* QDCOUNT */
	while (*label) {
		dot = strchr(label, '.');
		len = dot ? (size_t)(dot - label) : strlen(label);
		q[n++] = len;
		memcpy(q + n, label, len);
		n += len;
		label += len + (dot != NULL);
	}
	q[n++] = 0;
	q[n++] = 0;
	q[n++] = type;
	q[n++] = 0;
	q[n++] = DNS_CLASS_IN;
	return n;
}

/* Whether @name is one a query can carry: labels of 1 to 63 bytes, 253 in all */
static bool dns_name_ok(const char *name)
{
	size_t total = strlen(name), len = 0;
	const char *c;

	if (!total || total > 253 || name[total - 1] == '.')
		return false;
	for (c = name; *c; c++) {
		if (*c != '.') {
			if (++len > 63)
				return false;
		} else if (!len) {
			return false;
		} else {
			len = 0;
		}
	}
	return true;
}

static void dns_cycle(const struct target *t, int type, enum kind k_connect,
		      enum kind k_answer)
{
	static _Thread_local unsigned short id;
	unsigned char q[DNS_QUERY_MAX], a[512];
	struct pollfd pfd;
	size_t qlen;
	ssize_t n;
	int s;

	s = socket(t->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		fail("create a UDP socket for a DNS query");
	if (connect(s, (const struct sockaddr *)&t->addr, t->len))
		fail("connect to the nameserver");
	counts[k_connect]++;
	qlen = dns_query(q, ++id, dns_name, type);
	if (send(s, q, qlen, 0) != (ssize_t)qlen)
		fail("send a DNS query");
	pfd.fd = s;
	pfd.events = POLLIN;
	n = poll(&pfd, 1, DNS_TIMEOUT_MS);
	if (n == 0) {
		errno = ETIMEDOUT;
		fail("receive a DNS answer within 2 s");
	}
	if (n < 0 || (n = recv(s, a, sizeof(a), 0)) < 0)
		fail("receive a DNS answer");
	if (n < 12 || a[0] != q[0] || a[1] != q[1] || !(a[2] & 0x80)) {
		errno = EPROTO;
		fail("read a DNS answer (short, or not the query's)");
	}
	if ((a[3] & 0x0f) || !(a[6] | a[7])) {
		fprintf(stderr, "loadgen: the nameserver answered %s %s with rcode %d and "
			"%d records: no address\n", type == DNS_TYPE_A ? "A" : "AAAA",
			dns_name, a[3] & 0x0f, a[6] << 8 | a[7]);
		die();
	}
	counts[k_answer]++;
	close(s);
}

static bool parse_modes(const char *arg, bool *want)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	bool ok = copy != NULL;
	int m;

	for (tok = strtok_r(copy, ",", &save); ok && tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "all")) {
			for (m = 0; m <= M_UNIX; m++)
				want[m] = true;
		} else if (!strcmp(tok, "tcp")) {
			want[M_TCP4] = want[M_TCP6] = true;
		} else if (!strcmp(tok, "udp")) {
			want[M_UDP4] = want[M_UDP6] = true;
		} else if (!strcmp(tok, "dns")) {
			want[M_DNS4] = want[M_DNS6] = true;
		} else {
			for (m = 0; m < M_MAX && strcmp(tok, mode_names[m]); m++)
				;
			if (m == M_MAX) {
				fprintf(stderr, "loadgen: --mode: unknown mode '%s'\n", tok);
				ok = false;
			} else {
				want[m] = true;
			}
		}
	}
	free(copy);
	return ok;
}

static bool parse_ulong(const char *opt, const char *arg, unsigned long min,
			unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || *out < min || *out > max) {
		fprintf(stderr, "loadgen: %s: '%s' is not a number from %lu to %lu\n",
			opt, arg, min, max);
		return false;
	}
	return true;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* With a rate: waits until cycle @i is due, @t0 the first's start */
static void pace(unsigned long i, unsigned long rate, double t0)
{
	double due = t0 + (double)i / rate, left = due - now();
	struct timespec ts;

	if (left <= 0)
		return;		/* late: no catching up by bursts beyond back to back */
	ts.tv_sec = (time_t)left;
	ts.tv_nsec = (long)((left - ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: loadgen [--mode MODE[,MODE...]] [-n CYCLES] [-t SECONDS] [-r RATE]\n"
		"               [-T THREADS] [--dns-name NAME] [--resolv-conf FILE]\n"
		"Loopback socket workload: each cycle runs every MODE once.\n"
		"  -m, --mode=MODES     tcp4 tcp6 udp4 udp6 unix dns4 dns6, or tcp, udp, dns,\n"
		"                       all (default all: every mode but dns4 and dns6)\n"
		"  -n, --cycles=N       number of cycles (default 10000, at most 100000000)\n"
		"  -t, --max-seconds=S  stop after S seconds even if N is not reached (default 120)\n"
		"  -r, --rate=R         start at most R cycles a second (default: back to back)\n"
		"  -T, --threads=N      N threads share the cycles and the rate, each with servers\n"
		"                       of its own (default 1, at most %d)\n"
		"      --dns-name=NAME  the name dns4 and dns6 ask for (default %s)\n"
		"      --resolv-conf=FILE  where dns4 and dns6 find their nameserver, the first\n"
		"                       IPv4 / IPv6 one, a loopback address (default %s)\n"
		"Prints cycles per second and the events generated, per kind.\n",
		THREADS_MAX, dns_name, resolv_conf);
}

/* One thread's share of the work */
struct worker {
	pthread_t th;
	int idx;
	const bool *want;
	unsigned long cycles, rate, max_s;	/* its share */
	unsigned long done;
	double t0, t1;
	unsigned long long counts[K_MAX];
};

static void serve(struct target *t, int m, int idx)
{
	switch (m) {
	case M_TCP4: inet_server(t, AF_INET, SOCK_STREAM); break;
	case M_TCP6: inet_server(t, AF_INET6, SOCK_STREAM); break;
	case M_UDP4: inet_server(t, AF_INET, SOCK_DGRAM); break;
	case M_UDP6: inet_server(t, AF_INET6, SOCK_DGRAM); break;
	case M_UNIX: unix_server(t, idx); break;
	case M_DNS4: dns_server(t, AF_INET); break;
	case M_DNS6: dns_server(t, AF_INET6); break;
	}
}

static void one_cycle(const bool *want, const struct target *tgt)
{
	if (want[M_TCP4])
		stream_cycle(&tgt[M_TCP4], K_TCP4_CONNECT, K_TCP4_ACCEPT, K_TCP4_CLOSE);
	if (want[M_TCP6])
		stream_cycle(&tgt[M_TCP6], K_TCP6_CONNECT, K_TCP6_ACCEPT, K_TCP6_CLOSE);
	if (want[M_UDP4])
		udp_cycle(&tgt[M_UDP4], K_UDP4_CONNECT, K_UDP4_SEND);
	if (want[M_UDP6])
		udp_cycle(&tgt[M_UDP6], K_UDP6_CONNECT, K_UDP6_SEND);
	if (want[M_UNIX])
		stream_cycle(&tgt[M_UNIX], K_UNIX_CONNECT, K_UNIX_ACCEPT, K_MAX);
	if (want[M_DNS4])
		dns_cycle(&tgt[M_DNS4], DNS_TYPE_A, K_UDP4_CONNECT, K_DNS4_ANSWER);
	if (want[M_DNS6])
		dns_cycle(&tgt[M_DNS6], DNS_TYPE_AAAA, K_UDP6_CONNECT, K_DNS6_ANSWER);
}

/* Its servers, its cycles, its counts into @arg (a struct worker) */
static void *work(void *arg)
{
	struct worker *w = arg;
	struct target tgt[M_MAX];
	unsigned long i;
	int m;

	for (m = 0; m < M_MAX; m++)
		if (w->want[m])
			serve(&tgt[m], m, w->idx);
	w->t0 = now();
	for (i = 0; i < w->cycles; i++) {
		/* the clock is read every 64 cycles: bounded in time, cheap */
		if ((i & 63) == 63 && now() - w->t0 > (double)w->max_s)
			break;
		if (w->rate)
			pace(i, w->rate, w->t0);
		one_cycle(w->want, tgt);
	}
	w->t1 = now();
	w->done = i;
	for (m = 0; m < M_MAX; m++)
		if (w->want[m] && tgt[m].fd >= 0)
			close(tgt[m].fd);
	memcpy(w->counts, counts, sizeof(counts));
	return NULL;
}

/* Runs @n workers to their end, the first in this thread */
static void run_workers(struct worker *w, int n)
{
	int i, err = 0;

	for (i = 1; i < n && !err; i++)
		err = pthread_create(&w[i].th, NULL, work, &w[i]);
	if (err) {
		errno = err;
		fail("start a thread");
	}
	work(&w[0]);
	for (i = 1; i < n; i++)
		pthread_join(w[i].th, NULL);
}

/* Cycles and rate shared out over @n workers, the first ones one more of
 * each where they do not divide (main() asks for a rate of at least @n) */
static void share(struct worker *w, int n, const bool *want, unsigned long cycles,
		  unsigned long rate, unsigned long max_s)
{
	int i;

	for (i = 0; i < n; i++) {
		w[i] = (struct worker){ .idx = i, .want = want, .max_s = max_s,
					.cycles = cycles / n + (i < (int)(cycles % n)),
					.rate = rate / n + (i < (int)(rate % n)) };
	}
}

/* The workers' sum: cycles done, from the first start to the last end */
static int report(const struct worker *w, int n, const char *modes, unsigned long cycles,
		  unsigned long max_s)
{
	unsigned long long total[K_MAX] = { 0 };
	double t0 = w[0].t0, t1 = w[0].t1, secs;
	unsigned long done = 0;
	int i, k;

	for (i = 0; i < n; i++) {
		done += w[i].done;
		t0 = w[i].t0 < t0 ? w[i].t0 : t0;
		t1 = w[i].t1 > t1 ? w[i].t1 : t1;
		for (k = 0; k < K_MAX; k++)
			total[k] += w[i].counts[k];
	}
	secs = t1 - t0 > 1e-9 ? t1 - t0 : 1e-9;
	if (done < cycles)
		fprintf(stderr, "loadgen: stopped after %lu s: %lu of %lu cycles done\n",
			max_s, done, cycles);
	printf("loadgen: %lu cycles of %s in %.3f s: %.0f cycles/s\n", done, modes, secs,
	       done / secs);
	printf("generated:");
	for (k = 0; k < K_MAX; k++)
		printf(" %s=%llu", kind_names[k], total[k]);
	printf("\n");
	return done < cycles ? 3 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "cycles", required_argument, NULL, 'n' },
		{ "max-seconds", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 'T' },
		{ "dns-name", required_argument, NULL, 'D' },
		{ "resolv-conf", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct worker w[THREADS_MAX];
	bool want[M_MAX] = { false };
	unsigned long cycles = 10000, max_s = 120, rate = 0, threads = 1;
	char modes[64] = "";
	int opt, m;

	while ((opt = getopt_long(argc, argv, "m:n:t:r:T:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (!parse_modes(optarg, want))
				return 2;
			break;
		case 'n':
			if (!parse_ulong("--cycles", optarg, 1, 100000000, &cycles))
				return 2;
			break;
		case 't':
			if (!parse_ulong("--max-seconds", optarg, 1, 3600, &max_s))
				return 2;
			break;
		case 'r':
			if (!parse_ulong("--rate", optarg, 1, 100000000, &rate))
				return 2;
			break;
		case 'T':
			if (!parse_ulong("--threads", optarg, 1, THREADS_MAX, &threads))
				return 2;
			break;
		case 'D':
			if (!dns_name_ok(optarg)) {
				fprintf(stderr, "loadgen: --dns-name: '%s' is not a DNS name\n",
					optarg);
				return 2;
			}
			dns_name = optarg;
			break;
		case 'R':
			resolv_conf = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "loadgen: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	for (m = 0; m < M_MAX && !want[m]; m++)
		;
	if (m == M_MAX)
		for (m = 0; m <= M_UNIX; m++)
			want[m] = true;
	for (m = 0; m < M_MAX; m++) {
		if (!want[m])
			continue;
		if (modes[0])
			strcat(modes, ",");
		strcat(modes, mode_names[m]);
	}
	if (rate && rate < threads) {
		fprintf(stderr, "loadgen: --rate %lu is less than one cycle a second for each "
			"of --threads %lu\n", rate, threads);
		return 2;
	}
	if (want[M_UNIX] && !mkdtemp(unix_dir))
		fail("create a directory for the Unix sockets");

	share(w, (int)threads, want, cycles, rate, max_s);
	run_workers(w, (int)threads);
	remove_unix();
	return report(w, (int)threads, modes, cycles, max_s);
}
