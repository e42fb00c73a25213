#ifndef CTOTP_LIBPQ_H
#define CTOTP_LIBPQ_H
#include <stddef.h>

/* libpq (PostgreSQL's client library), loaded the first time a store is used rather than linked.

   Why: only sites with `store=` use PostgreSQL; linking libpq would make every login on every
   other host load it and its dependencies (OpenSSL, Kerberos, LDAP). Why C: libpq's calls are
   few and its waits must be bounded with poll(2), which Embedded Swift cannot call directly.

   Every wait is bounded: a connection by libpq's connect_timeout (set from timeout_seconds, per
   host), a statement by poll(2) on the socket until timeout_seconds have passed. Nothing here
   retries: the caller refuses the login. Errors are written to `error` (NUL-terminated, shortened
   to error_size); they are libpq's or the server's text, which never contains a parameter's value
   nor the connection string. */

typedef struct ctotp_pq_connection ctotp_pq_connection;
typedef struct ctotp_pq_result ctotp_pq_result;

/* Connects with the connection string in `file` (the store file's `length` bytes: its lines
   without blank lines and `#` comments, joined by spaces), as PQconnectdbParams's dbname
   (expanded), with connect_timeout set to timeout_seconds; then PQstatus. NULL on failure (error
   says why, including when libpq cannot be loaded; of a string libpq cannot parse, only that it
   is malformed, as libpq's reason quotes the string). The copy of the string is zeroed
   afterwards: it may hold a password. Unless use_environment, a process whose environment has any
   PG* variable is refused before anything is loaded: libpq would take what the file leaves out
   from it (inside sudo, the caller's). GSS encryption is always off (gssencmode=disable). */
ctotp_pq_connection *ctotp_pq_connect(const unsigned char *file, size_t length, int timeout_seconds,
                                      int use_environment, char *error, size_t error_size);

/* PQsendQueryParams (text parameters and results; a NULL value is SQL NULL), then PQconsumeInput
   and PQgetResult until the statement is done or timeout_seconds have passed. NULL on failure,
   timeout or a result other than PGRES_COMMAND_OK / PGRES_TUPLES_OK; after a timeout the
   connection is unusable (ctotp_pq_usable says so). */
ctotp_pq_result *ctotp_pq_exec(ctotp_pq_connection *connection, const char *statement, int count,
                               const char *const *values, int timeout_seconds, char *error, size_t error_size);

/* From now on, until the next call, every statement must be answered within timeout_seconds of
   this call, however many there are: one bound for a request made of several statements. */
void ctotp_pq_set_deadline(ctotp_pq_connection *connection, int timeout_seconds);

/* Why the last failed ctotp_pq_exec failed. */
enum {
    CTOTP_PQ_TIMEOUT = 1,   /* not answered within the bound; the connection is given up */
    CTOTP_PQ_LOST = 2,      /* the connection was lost */
    CTOTP_PQ_NO_SCHEMA = 3, /* the database has no pam_totp tables */
    CTOTP_PQ_STATEMENT = 4, /* the server refused the statement */
};
int ctotp_pq_failure(const ctotp_pq_connection *connection);

/* Whether the connection was lost (closed by the server, or the network failed) rather than given
   up on after a timeout: a new connection may then work at once. */
int ctotp_pq_lost(ctotp_pq_connection *connection);

/* Whether the connection can take another statement. */
int ctotp_pq_usable(ctotp_pq_connection *connection);

/* PQntuples, PQgetisnull, PQgetvalue, PQgetlength. */
int ctotp_pq_rows(const ctotp_pq_result *result);
int ctotp_pq_is_null(const ctotp_pq_result *result, int row, int column);
const char *ctotp_pq_value(const ctotp_pq_result *result, int row, int column);
int ctotp_pq_length(const ctotp_pq_result *result, int row, int column);

/* Zeroes every value of the result (they may hold a secret), then PQclear. */
void ctotp_pq_clear(ctotp_pq_result *result);

/* PQfinish. */
void ctotp_pq_finish(ctotp_pq_connection *connection);

#endif
