// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>
#ifndef ST_NO_JOURNAL
#define SD_JOURNAL_SUPPRESS_LOCATION	/* CODE_FILE would name our file, not the event */
#include <systemd/sd-journal.h>
#endif
#include "journal.h"
#include "log.h"

int st_journal_open(struct st_journal *jr, const char *tool)
{
#ifdef ST_NO_JOURNAL
	(void)jr, (void)tool;
	st_err("--journal: this build has no journal support (built with JOURNAL=0, without libsystemd)");
	return -EOPNOTSUPP;
#else
	jr->tool = tool;
	jr->fields = open_memstream(&jr->fbuf, &jr->flen);
	jr->message = open_memstream(&jr->mbuf, &jr->mlen);
	if (!jr->fields || !jr->message) {
		st_err("--journal: no memory");
		return -ENOMEM;
	}
	if (access(ST_JOURNAL_SOCKET, W_OK))
		st_err("--journal: no journal at %s (%s): entries are counted, not written, until "
		       "systemd-journald is there", ST_JOURNAL_SOCKET, st_strerror(errno));
	return 0;
#endif
}

FILE *st_journal_fields(struct st_journal *jr)
{
	rewind(jr->fields);
	return jr->fields;
}

FILE *st_journal_message(struct st_journal *jr)
{
	rewind(jr->message);
	fputs("MESSAGE=", jr->message);
	return jr->message;
}

#ifndef ST_NO_JOURNAL
/* @buf's lines (@len bytes) as iovecs after @n of them: the new count */
static size_t split(char *buf, size_t len, struct iovec *iov, size_t n)
{
	char *p = buf, *end = buf + len, *nl;

	for (; p < end && n < ST_JOURNAL_FIELDS - 3; p = nl + 1) {
		nl = memchr(p, '\n', end - p);
		if (!nl)
			nl = end;
		if (nl > p)
			iov[n++] = (struct iovec){ p, nl - p };
	}
	return n;
}
#endif

int st_journal_send(struct st_journal *jr)
{
#ifdef ST_NO_JOURNAL
	(void)jr;
	return -EOPNOTSUPP;
#else
	struct iovec iov[ST_JOURNAL_FIELDS];
	char ident[64];
	size_t n;
	int err;

	if (fflush(jr->fields) || fflush(jr->message))
		err = -ENOMEM;
	else if (access(ST_JOURNAL_SOCKET, W_OK))
		err = -errno;	/* sd_journal_sendv() would say 0: it drops in silence */
	else {
		n = split(jr->fbuf, jr->flen, iov, 0);
		iov[n++] = (struct iovec){ jr->mbuf, jr->mlen };
		iov[n++] = (struct iovec){ "PRIORITY=6", 10 };
		snprintf(ident, sizeof(ident), "SYSLOG_IDENTIFIER=%s", jr->tool);
		iov[n++] = (struct iovec){ ident, strlen(ident) };
		err = sd_journal_sendv(iov, n);
	}
	if (!err) {
		jr->written++;
		return 0;
	}
	if (!jr->failed++)
		st_err("--journal: the journal did not take an entry: %s (counted; the trace goes on)",
		       st_strerror(-err));
	return err;
#endif
}

unsigned long long st_journal_check(struct st_journal *jr)
{
	unsigned long long n = jr->failed - jr->said;

	if (n)
		st_err("--journal: %llu entries not written: the journal did not take them", n);
	jr->said = jr->failed;
	return n;
}

void st_journal_report(const struct st_journal *jr)
{
	if (jr->failed)
		st_err("--journal: %llu of %llu entries not written", jr->failed,
		       jr->failed + jr->written);
}

void st_journal_close(struct st_journal *jr)
{
	if (jr->fields)
		fclose(jr->fields);
	if (jr->message)
		fclose(jr->message);
	free(jr->fbuf);
	free(jr->mbuf);
	memset(jr, 0, sizeof(*jr));
}
