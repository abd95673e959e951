/* log.c - one JSON object per line on stderr. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static _Atomic int log_level = LOG_INFO;
static _Thread_local char log_request_id[80];
static _Thread_local char log_trace_id[256];
static _Thread_local char log_invocation_id[80];

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return (enum log_level)log_level;
}

/* Parses a level name. */
int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_LEN(level_names); i++) {
		if (ascii_casecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (ascii_casecmp(s, "warning") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	return -1;
}

/* Sets this thread's request and trace ids (copied; NULL clears). */
void
log_set_context(const char *request_id, const char *trace_id)
{
	snprintf(log_request_id, sizeof log_request_id, "%s", request_id ? request_id : "");
	snprintf(log_trace_id, sizeof log_trace_id, "%s", trace_id ? trace_id : "");
}

/* Sets this thread's Lambda invocation id (copied; NULL clears). */
void
log_set_invocation(const char *aws_request_id)
{
	snprintf(log_invocation_id, sizeof log_invocation_id, "%s", aws_request_id ? aws_request_id : "");
}

/* Appends s as a JSON string literal. */
static void
json_escape(struct buf *b, const char *s)
{
	buf_append(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '\t': buf_puts(b, "\\t"); break;
		default:
			if (*p < 0x20)
				buf_printf(b, "\\u%04x", *p);
			else
				buf_append(b, p, 1);
		}
	}
	buf_append(b, "\"", 1);
}

/* Writes one line with one write(2), so lines of threads never interleave. */
void
log_emit(enum log_level level, const char *msg, const struct log_field *fields)
{
	struct buf b = BUF_INIT;
	struct timespec ts;
	struct tm tm;
	char when[32];

	if ((int)level < log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	buf_printf(&b, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"msg\":", when,
	    ts.tv_nsec / 1000000, level_names[level]);
	json_escape(&b, msg);
	if (log_request_id[0] != '\0') {
		buf_puts(&b, ",\"request_id\":");
		json_escape(&b, log_request_id);
	}
	if (log_invocation_id[0] != '\0') {
		buf_puts(&b, ",\"aws_request_id\":");
		json_escape(&b, log_invocation_id);
	}
	if (log_trace_id[0] != '\0') {
		buf_puts(&b, ",\"trace_id\":");
		json_escape(&b, log_trace_id);
	}
	for (const struct log_field *f = fields; f != NULL && f->type != LOG_T_END; f++) {
		if (f->type == LOG_T_BEGIN)
			continue;
		buf_append(&b, ",", 1);
		json_escape(&b, f->key);
		buf_append(&b, ":", 1);
		switch (f->type) {
		case LOG_T_STR:
			if (f->s == NULL)
				buf_puts(&b, "null");
			else
				json_escape(&b, f->s);
			break;
		case LOG_T_INT:
			buf_printf(&b, "%lld", (long long)f->i);
			break;
		case LOG_T_DBL:
			buf_printf(&b, "%.3f", f->d);
			break;
		case LOG_T_BOOL:
			buf_puts(&b, f->i ? "true" : "false");
			break;
		default:
			buf_puts(&b, "null");
		}
	}
	buf_puts(&b, "}\n");
	/* A failed log write has nowhere to be reported. */
	if (write(STDERR_FILENO, b.data, b.len) < 0)
		(void)0;
	buf_free(&b);
}
