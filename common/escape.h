/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Strings other processes control (comm, socket paths) made safe to print:
 * nothing reaches a terminal as a control sequence, and JSON stays valid.
 */
#ifndef SOCKTRACE_ESCAPE_H
#define SOCKTRACE_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Enough for @n input bytes: each may become "\xNN", plus the NUL. */
#define ST_ESCAPED_LEN(n) (4 * (n) + 1)

/*
 * Copies @len bytes of @in (stopping early at a NUL unless @keep_nul) into
 * @out: printable ASCII and valid UTF-8 stay, a backslash becomes "\\",
 * every other byte (C0 and C1 controls, DEL, invalid UTF-8) "\xNN".
 * Returns the length written; @out is always terminated.
 */
size_t st_escape(const char *in, size_t len, int keep_nul, char *out, size_t outsz);

/*
 * Writes @len bytes of @in as a JSON string literal, quotes included: the
 * suite's one JSON string writer, for every string of every JSON line.
 * The text is the real text, not the columns' escapes: printable ASCII and
 * valid UTF-8 as they are; '"' and '\\' escaped; C0 controls, DEL and C1
 * controls (U+0080..U+009F) as \u00XX, so that no control sequence reaches
 * a terminal even when the JSON is printed; each byte that is not part of
 * valid UTF-8 as the lone surrogate \udcXX (PEP 383 "surrogateescape"),
 * which valid UTF-8 never holds, so the bytes can be had back exactly: in
 * Python, s.encode("utf-8", "surrogateescape"). NULs are bytes like others.
 */
void st_json_string(FILE *f, const void *in, size_t len);

#endif
