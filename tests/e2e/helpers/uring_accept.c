// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * uring_accept COMM FAMILY ADDR: listen on ADDR port 0, print {"port":N},
 * accept one connection through io_uring (no accept() syscall), print
 * {"pid","tid","fd","rport"}, then wait for stdin to close. Built by the
 * Makefile as $(OUTPUT)/tests/uring_accept with liburing (Debian's liburing-dev).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in6 sa = { 0 }, peer;
	socklen_t len = sizeof(sa), plen = sizeof(peer);
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	int six, fd, one = 1, res;
	char c;

	if (argc != 4)
		return 2;
	prctl(PR_SET_NAME, argv[1], 0, 0, 0);
	six = argv[2][0] == '6';
	fd = socket(six ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (six) {
		sa.sin6_family = AF_INET6;
		inet_pton(AF_INET6, argv[3], &sa.sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;

		s4->sin_family = AF_INET;
		inet_pton(AF_INET, argv[3], &s4->sin_addr);
		len = sizeof(*s4);
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len))
		return perror("listen"), 1;
	res = io_uring_queue_init(4, &ring, 0);
	if (res < 0)
		return fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-res)), 1;
	printf("{\"port\":%d}\n", ntohs(sa.sin6_port));
	fflush(stdout);
	io_uring_prep_accept(io_uring_get_sqe(&ring), fd, (struct sockaddr *)&peer, &plen, 0);
	io_uring_submit(&ring);
	res = io_uring_wait_cqe(&ring, &cqe);
	if (res < 0 || cqe->res < 0)
		return fprintf(stderr, "accept: %s\n", strerror(res < 0 ? -res : -cqe->res)), 1;
	printf("{\"pid\":%d,\"tid\":%d,\"fd\":%d,\"rport\":%d}\n", getpid(), gettid(),
	       cqe->res, ntohs(peer.sin6_port));
	fflush(stdout);
	io_uring_cqe_seen(&ring, cqe);
	while (read(0, &c, 1) > 0)
		;
	io_uring_queue_exit(&ring);
	return 0;
}
