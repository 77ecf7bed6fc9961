/* symgraph_runtime.h: status codes and error reporting for every generated unit.
 *
 * Every translation unit symgraph generates includes this header. Its content is part
 * of the cache key (symgraph/runtime/cache.py), so editing it rebuilds every unit.
 *
 * The contract between generated C and the Python caller:
 *
 *   - The entry point returns an int: SG_OK (0) on success, else one of sg_status.
 *   - Its last two parameters are SG_ERR_PARAMS: a char buffer owned by the caller and
 *     its size (the caller allocates SG_ERRMSG_SIZE bytes, e.g.
 *     ffi.new("char[]", SG_ERRMSG_SIZE), zero-filled). On failure the unit writes one
 *     NUL-terminated message into it; the caller reads it with ffi.string(buf) and raises
 *     the symgraph.errors class the status names.
 *     Why a caller buffer and not a global or thread-local: nothing in the .so is
 *     mutable, so the same function may be called from several Python threads at once,
 *     and the message's lifetime is the caller's, not the library's.
 *   - The first error wins: sg_fail leaves a message already written alone, so the
 *     innermost, most specific failure is the one reported.
 *   - Static kernels that can fail take SG_ERR_PARAMS as well and are called with
 *     SG_ERR_ARGS; they return a status the caller propagates.
 *   - Inside an OpenMP parallel region a kernel cannot return: it calls sg_fail (safe
 *     there: it runs in a named critical section), remembers the status in a shared
 *     variable, skips the rest of its work, and returns the status after the region.
 */
#ifndef SYMGRAPH_RUNTIME_H
#define SYMGRAPH_RUNTIME_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Status codes. Python mirrors these numbers: change them only together. */
typedef enum sg_status {
    SG_OK = 0,
    SG_ERR_SHAPE = 1,    /* shapes that do not fit at call time -> ShapeError */
    SG_ERR_INDEX = 2,    /* an index outside its axis -> IndexOutOfRangeError */
    SG_ERR_VALUE = 3,    /* a value the op does not accept -> ValueError family */
    SG_ERR_NOMEM = 4,    /* an allocation failed -> MemoryError */
    SG_ERR_NAN = 5,      /* a NaN/Inf found by the NaN-check mode */
    SG_ERR_INTERNAL = 6, /* a bug in symgraph: should never happen */
    SG_ERR_BUSY = 7      /* the function is running on another thread -> ConcurrentCallError */
} sg_status;

/* The size the caller allocates for the message buffer. */
#define SG_ERRMSG_SIZE 512

#define SG_ERR_PARAMS char *sg_errbuf, size_t sg_errbuf_size
#define SG_ERR_ARGS sg_errbuf, sg_errbuf_size

/* Write a printf-style message into buf (unless one is already there) and return
 * status, so that a kernel can write `return sg_fail(...)`. */
static inline int sg_fail(char *buf, size_t size, int status, const char *fmt, ...)
{
#ifdef _OPENMP
#pragma omp critical(sg_error)
#endif
    {
        if (buf != NULL && size > 0 && buf[0] == '\0') {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(buf, size, fmt, ap);
            va_end(ap);
            if (buf[0] == '\0' && size > 1) { /* an empty message would read as no error */
                buf[0] = '?';
                buf[1] = '\0';
            }
        }
    }
    return status;
}

/* In a function with SG_ERR_PARAMS: fail with a message and return the status. */
#define SG_FAIL(status, ...) return sg_fail(SG_ERR_ARGS, (status), __VA_ARGS__)

/* In a function with SG_ERR_PARAMS: fail unless cond holds. */
#define SG_CHECK(cond, status, ...)              \
    do {                                         \
        if (!(cond)) SG_FAIL((status), __VA_ARGS__); \
    } while (0)

/* Propagate a failing status from a kernel call. */
#define SG_TRY(call)                   \
    do {                               \
        int sg_status_ = (call);       \
        if (sg_status_ != SG_OK) return sg_status_; \
    } while (0)

/* What one compiled function keeps between its calls, owned by its caller (one per
 * function object: two functions whose equal code shares a loaded library never share
 * this): the temporaries' memory, grown as sizes need and freed with the function, and
 * whether a call is running (a second thread entering the same function is refused:
 * its buffers are in use). The caller allocates SG_CALL_STATE_WORDS zeroed words. */
typedef struct sg_call_state {
    void *memory;
    size_t size;
    int busy;
} sg_call_state;
#define SG_CALL_STATE_WORDS 4
_Static_assert(sizeof(sg_call_state) <= SG_CALL_STATE_WORDS * sizeof(uint64_t), "the caller's words hold the state");

/* 1 (and nothing changed) when a call of the function is already running, else 0 and
 * the function is taken until sg_call_leave. */
static inline int sg_call_enter(sg_call_state *s)
{
    return __atomic_exchange_n(&s->busy, 1, __ATOMIC_ACQUIRE);
}

static inline void sg_call_leave(sg_call_state *s)
{
    __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
}

static inline void sg_call_release(sg_call_state *s)
{
    free(s->memory);
    s->memory = NULL;
    s->size = 0;
}

#endif /* SYMGRAPH_RUNTIME_H */
