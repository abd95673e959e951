/* log.h - structured logs: one JSON object per line on stderr, in the
 * project's shape ({"time","level","msg",...}) or, when an entry point asks
 * for it, in AWS Lambda's JSON log shape ({"timestamp","level","message",
 * "requestId",...}). */
#ifndef PORTAL_LOG_H
#define PORTAL_LOG_H

#include <stddef.h>
#include <stdint.h>

/* LOG_FATAL is only a threshold (nothing is written at it): it drops every line. */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL };

/* The shape of a line. LOG_FORMAT_LAMBDA_JSON: "timestamp" (RFC 3339, ms),
 * "level" upper case, "message", "requestId" (the invocation id, when one is
 * set), then the request id, trace id and the fields. */
enum log_format { LOG_FORMAT_PORTAL, LOG_FORMAT_LAMBDA_JSON };

enum log_field_type { LOG_T_END, LOG_T_BEGIN, LOG_T_STR, LOG_T_INT, LOG_T_DBL, LOG_T_BOOL };

struct log_field {
	const char		*key;
	enum log_field_type	 type;
	const char		*s;
	int64_t			 i;
	double			 d;
};

#define LOG_S(k, v) ((struct log_field){ .key = (k), .type = LOG_T_STR, .s = (v) })
#define LOG_I(k, v) ((struct log_field){ .key = (k), .type = LOG_T_INT, .i = (int64_t)(v) })
#define LOG_D(k, v) ((struct log_field){ .key = (k), .type = LOG_T_DBL, .d = (v) })
#define LOG_B(k, v) ((struct log_field){ .key = (k), .type = LOG_T_BOOL, .i = !!(v) })

/* Sets the minimum level written (default LOG_INFO). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Sets the shape of every line from now on (default LOG_FORMAT_PORTAL). */
void log_set_format(enum log_format format);
enum log_format log_get_format(void);
/* Parses "debug", "info", "warn", "error"; -1 when unknown. */
int log_level_parse(const char *s, enum log_level *out);
/* Per-thread context added to every line: request id and trace id (either may be NULL). */
void log_set_context(const char *request_id, const char *trace_id);
/* Per-thread id of the current Lambda invocation, logged as "aws_request_id" (NULL clears). */
void log_set_invocation(const char *aws_request_id);
/* Writes one line; fields end with LOG_T_END. Thread-safe, one write(2) per line. */
void log_emit(enum log_level level, const char *msg, const struct log_field *fields);
/* Writes len bytes of text (one JSON document, no newline) plus a newline as
 * one line with one write(2), whatever the level and format: documents that
 * other systems read, like CloudWatch embedded metrics. */
void log_write_line(const char *text, size_t len);

#define LOG_FIELDS_(...) ((const struct log_field[]){ { .type = LOG_T_BEGIN }, ##__VA_ARGS__, { .type = LOG_T_END } })
#define log_debug(msg, ...) do { if (log_get_level() <= LOG_DEBUG) log_emit(LOG_DEBUG, (msg), LOG_FIELDS_(__VA_ARGS__)); } while (0)
#define log_info(msg, ...)  log_emit(LOG_INFO, (msg), LOG_FIELDS_(__VA_ARGS__))
#define log_warn(msg, ...)  log_emit(LOG_WARN, (msg), LOG_FIELDS_(__VA_ARGS__))
#define log_error(msg, ...) log_emit(LOG_ERROR, (msg), LOG_FIELDS_(__VA_ARGS__))

#endif
