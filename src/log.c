/* log.c - one JSON object per line on stderr, in the project's shape or
 * AWS Lambda's JSON log shape. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static _Atomic int log_level = LOG_INFO;
static _Atomic int log_format = LOG_FORMAT_PORTAL;
static _Thread_local char log_request_id[80];
static _Thread_local char log_trace_id[256];
static _Thread_local char log_invocation_id[80];

static const char *const level_names[] = { "debug", "info", "warn", "error", "fatal" };
static const char *const level_names_upper[] = { "DEBUG", "INFO", "WARN", "ERROR", "FATAL" };

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

/* Sets the shape of the lines written from now on. */
void
log_set_format(enum log_format format)
{
	log_format = format;
}

/* The shape lines are written in. */
enum log_format
log_get_format(void)
{
	return (enum log_format)log_format;
}

/* Parses a level name (the threshold LOG_FATAL is not one LOG_LEVEL takes). */
int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i <= LOG_ERROR; i++) {
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

/* Copies s (NULL = "") into a fixed buffer, truncating. */
static void
copy_id(char *dst, size_t size, const char *s)
{
	size_t len = s ? strnlen(s, size - 1) : 0;

	if (len > 0)
		memcpy(dst, s, len);
	dst[len] = '\0';
}

/* Sets this thread's request and trace ids (copied; NULL clears). */
void
log_set_context(const char *request_id, const char *trace_id)
{
	copy_id(log_request_id, sizeof log_request_id, request_id);
	copy_id(log_trace_id, sizeof log_trace_id, trace_id);
}

/* Sets this thread's Lambda invocation id (copied; NULL clears). */
void
log_set_invocation(const char *aws_request_id)
{
	copy_id(log_invocation_id, sizeof log_invocation_id, aws_request_id);
}

/* Appends a decimal integer without printf. */
static void
append_int(struct buf *b, int64_t v)
{
	char tmp[24], *p = tmp + sizeof tmp;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* Appends "YYYY-MM-DDTHH:MM:SS.mmmZ"; the seconds part is formatted once a second per thread. */
static void
append_time(struct buf *b)
{
	static _Thread_local time_t cached_sec = -1;
	static _Thread_local char cached[24];
	struct timespec ts;
	char ms[5];
	long m;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != cached_sec) {
		struct tm tm;

		gmtime_r(&ts.tv_sec, &tm);
		strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
		cached_sec = ts.tv_sec;
	}
	m = ts.tv_nsec / 1000000;
	ms[0] = '.';
	ms[1] = (char)('0' + m / 100);
	ms[2] = (char)('0' + m / 10 % 10);
	ms[3] = (char)('0' + m % 10);
	ms[4] = 'Z';
	buf_puts(b, cached);
	buf_append(b, ms, sizeof ms);
}

/* Appends s as a JSON string literal, copying runs that need no escape at once. */
static void
json_escape(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : ""), *run = p;

	buf_append(b, "\"", 1);
	for (; *p; p++) {
		if (*p >= 0x20 && *p != '"' && *p != '\\')
			continue;
		buf_append(b, run, (size_t)(p - run));
		switch (*p) {
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '\t': buf_puts(b, "\\t"); break;
		default: buf_printf(b, "\\u%04x", *p);
		}
		run = p + 1;
	}
	buf_append(b, run, (size_t)(p - run));
	buf_append(b, "\"", 1);
}

/* Appends ,"key":value for each field. */
static void
append_fields(struct buf *b, const struct log_field *fields)
{
	for (const struct log_field *f = fields; f != NULL && f->type != LOG_T_END; f++) {
		if (f->type == LOG_T_BEGIN)
			continue;
		buf_append(b, ",", 1);
		json_escape(b, f->key);
		buf_append(b, ":", 1);
		switch (f->type) {
		case LOG_T_STR:
			if (f->s == NULL)
				buf_puts(b, "null");
			else
				json_escape(b, f->s);
			break;
		case LOG_T_INT:
			append_int(b, f->i);
			break;
		case LOG_T_DBL:
			buf_printf(b, "%.3f", f->d);
			break;
		case LOG_T_BOOL:
			buf_puts(b, f->i ? "true" : "false");
			break;
		default:
			buf_puts(b, "null");
		}
	}
}

/* The project's shape: {"time","level","msg","request_id","aws_request_id","trace_id",...}. */
static void
format_portal(struct buf *b, enum log_level level, const char *msg)
{
	buf_puts(b, "{\"time\":\"");
	append_time(b);
	buf_puts(b, "\",\"level\":\"");
	buf_puts(b, level_names[level]);
	buf_puts(b, "\",\"msg\":");
	json_escape(b, msg);
	if (log_request_id[0] != '\0') {
		buf_puts(b, ",\"request_id\":");
		json_escape(b, log_request_id);
	}
	if (log_invocation_id[0] != '\0') {
		buf_puts(b, ",\"aws_request_id\":");
		json_escape(b, log_invocation_id);
	}
	if (log_trace_id[0] != '\0') {
		buf_puts(b, ",\"trace_id\":");
		json_escape(b, log_trace_id);
	}
}

/* Lambda's JSON shape: {"timestamp","level","message","requestId","request_id","trace_id",...}. */
static void
format_lambda(struct buf *b, enum log_level level, const char *msg)
{
	buf_puts(b, "{\"timestamp\":\"");
	append_time(b);
	buf_puts(b, "\",\"level\":\"");
	buf_puts(b, level_names_upper[level]);
	buf_puts(b, "\",\"message\":");
	json_escape(b, msg);
	if (log_invocation_id[0] != '\0') {
		buf_puts(b, ",\"requestId\":");
		json_escape(b, log_invocation_id);
	}
	if (log_request_id[0] != '\0') {
		buf_puts(b, ",\"request_id\":");
		json_escape(b, log_request_id);
	}
	if (log_trace_id[0] != '\0') {
		buf_puts(b, ",\"trace_id\":");
		json_escape(b, log_trace_id);
	}
}

/* Writes b with one write(2), so lines of threads never interleave. */
static void
write_buf(const struct buf *b)
{
	/* A failed log write has nowhere to be reported. */
	if (write(STDERR_FILENO, b->data, b->len) < 0)
		(void)0;
}

/* Writes one line in the current format. */
void
log_emit(enum log_level level, const char *msg, const struct log_field *fields)
{
	struct buf b = BUF_INIT;

	if ((int)level < log_level || level >= LOG_FATAL)
		return;
	if (log_format == LOG_FORMAT_LAMBDA_JSON)
		format_lambda(&b, level, msg);
	else
		format_portal(&b, level, msg);
	append_fields(&b, fields);
	buf_puts(&b, "}\n");
	write_buf(&b);
	buf_free(&b);
}

/* Writes a ready JSON document as one line. */
void
log_write_line(const char *text, size_t len)
{
	struct buf b = BUF_INIT;

	buf_append(&b, text, len);
	buf_append(&b, "\n", 1);
	write_buf(&b);
	buf_free(&b);
}
