/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --journal: each event one entry in the systemd journal (sd_journal_sendv),
 * its JSON members as SOCKTRACE_* fields (st_json_begin_fields()), a
 * readable MESSAGE, SYSLOG_IDENTIFIER the tool's name, PRIORITY info.
 *
 * An entry the journal does not take (no journald, its socket full) is
 * counted: the first failure said at once with why, the count as it grows
 * (st_journal_check(), also on the metrics page) and the total at exit; the
 * tracing goes on, and entries are written again once journald is back.
 */
#ifndef SOCKTRACE_JOURNAL_H
#define SOCKTRACE_JOURNAL_H
#include <stdio.h>

#define ST_JOURNAL_SOCKET	"/run/systemd/journal/socket"
#define ST_JOURNAL_FIELDS	64	/* an entry's, at most; an event has about 25 */
/* The reason of the entries not written, on the metrics page */
#define ST_JOURNAL_LOSS		"journal_not_written"

struct st_journal {
	const char *tool;
	FILE *fields, *message;		/* reused, entry after entry */
	char *fbuf, *mbuf;
	size_t flen, mlen;
	unsigned long long written, failed;
	unsigned long long said;	/* of failed, by st_journal_check() */
};

/* 0, or -errno after one line; a missing journal is said, not a failure */
int st_journal_open(struct st_journal *jr, const char *tool);

/* The next entry: its fields' stream (lines "FIELD=value"), then its MESSAGE's */
FILE *st_journal_fields(struct st_journal *jr);
FILE *st_journal_message(struct st_journal *jr);

/* Sends the entry written to both streams: 0, or -errno (counted) */
int st_journal_send(struct st_journal *jr);

/* The entries not written since the last call, said on stderr if any */
unsigned long long st_journal_check(struct st_journal *jr);

/* At exit: the entries not written, if any */
void st_journal_report(const struct st_journal *jr);

void st_journal_close(struct st_journal *jr);

#endif
