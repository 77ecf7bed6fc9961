"""The C text of ``sg_npy.h`` and ``sg_npy.c``: NumPy's ``.npy`` files read and written by
the command an export builds (``./name in.npy out.npy``), with no library but libc.

Why C text in a Python module and not ``.c`` files beside it: the package ships only its
Python modules (pyproject.toml's package data covers ``symgraph.csrc`` alone), and the
export must work from an installed wheel.

The reader takes what ``numpy.save`` writes (format versions 1.0, 2.0 and 3.0) and treats
the file as untrusted: the header's length is bounded, its dictionary is parsed field by
field (``descr``, ``fortran_order``, ``shape``; anything else in it is refused), the
element count is checked for overflow before anything is allocated, and the data must be
exactly as long as the header says. Only C-ordered arrays of this machine's byte order
are read (the command names what it found instead); nothing is converted.
"""

from __future__ import annotations

NPY_H = r"""/* sg_npy.h: NumPy .npy files for the command of a symgraph export (sg_npy.c). */
#ifndef SG_NPY_H
#define SG_NPY_H

#include <stddef.h>
#include <stdint.h>

#define SG_NPY_MAX_RANK 32

typedef struct sg_npy_array {
    char descr[8];                   /* NumPy's dtype code: "<f4", "|u1", ... */
    int rank;
    int64_t shape[SG_NPY_MAX_RANK];
    size_t itemsize;
    size_t count;                    /* elements: the product of shape */
    void *data;                      /* count * itemsize bytes (malloc'd; at least one byte) */
} sg_npy_array;

/* The .npy dtype code of a symgraph dtype name ("float32" -> "<f4" on a little-endian
 * machine, "bool" -> "|b1"), written into descr (8 bytes); its item size, or 0 for a
 * name it does not know. */
size_t sg_npy_descr(const char *dtype, char *descr);

/* Read `path` into *out (free it with sg_npy_free). 0 on success, else -1 with a message
 * naming the file and what is wrong with it in err. */
int sg_npy_read(const char *path, sg_npy_array *out, char *err, size_t err_size);

/* Write a C-ordered array as a version 1.0 .npy file. 0 on success, else -1 and a message. */
int sg_npy_write(const char *path, const char *descr, int rank, const int64_t *shape, const void *data,
                 size_t nbytes, char *err, size_t err_size);

void sg_npy_free(sg_npy_array *a);

#endif /* SG_NPY_H */
"""

NPY_C = r"""/* sg_npy.c: NumPy .npy files (format 1.0, 2.0, 3.0) for the command of a symgraph export.
 *
 * The file is untrusted input: the header is bounded and parsed field by field, the
 * element count is checked for overflow before any allocation, and the data must be
 * exactly as long as the header says.
 */
#include "sg_npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SG_NPY_MAX_HEADER 65536 /* numpy's own limit for reading is 10000 bytes */

static int sg_npy_fail(char *err, size_t err_size, const char *fmt, ...)
{
    if (err != NULL && err_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int sg_npy_little_endian(void)
{
    const uint16_t probe = 1;
    unsigned char first;
    memcpy(&first, &probe, 1);
    return first == 1;
}

size_t sg_npy_descr(const char *dtype, char *descr)
{
    static const struct {
        const char *name;
        char kind;
        size_t size;
    } table[] = {{"float32", 'f', 4}, {"float64", 'f', 8}, {"int8", 'i', 1}, {"int16", 'i', 2},
                 {"int32", 'i', 4},   {"int64", 'i', 8},   {"uint8", 'u', 1}, {"bool", 'b', 1}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(dtype, table[i].name) != 0) continue;
        descr[0] = table[i].size == 1 ? '|' : (sg_npy_little_endian() ? '<' : '>');
        descr[1] = table[i].kind;
        descr[2] = (char)('0' + table[i].size);
        descr[3] = '\0';
        return table[i].size;
    }
    descr[0] = '\0';
    return 0;
}

static const char *sg_npy_skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

/* The value after the key 'name': in the header dictionary, or NULL. */
static const char *sg_npy_field(const char *header, const char *name)
{
    char key[32];
    snprintf(key, sizeof key, "'%s'", name);
    const char *p = strstr(header, key);
    if (p == NULL) return NULL;
    p = sg_npy_skip_space(p + strlen(key));
    if (*p != ':') return NULL;
    return sg_npy_skip_space(p + 1);
}

/* Every key of the dictionary is one of the three numpy writes. */
static int sg_npy_known_keys(const char *header)
{
    int depth = 0;
    for (const char *p = header; *p; p++) {
        if (*p == '(') depth++;
        if (*p == ')') depth--;
        if (*p != '\'' || depth != 0) continue;
        const char *end = strchr(p + 1, '\'');
        if (end == NULL) return 0;
        const size_t len = (size_t)(end - p - 1);
        const int is_key = *sg_npy_skip_space(end + 1) == ':';
        if (is_key && !((len == 5 && strncmp(p + 1, "descr", 5) == 0) ||
                        (len == 13 && strncmp(p + 1, "fortran_order", 13) == 0) ||
                        (len == 5 && strncmp(p + 1, "shape", 5) == 0)))
            return 0;
        p = end;
    }
    return 1;
}

static int sg_npy_parse_header(const char *path, const char *header, sg_npy_array *out, char *err, size_t err_size)
{
    const char *p = sg_npy_skip_space(header);
    if (*p != '{' || !sg_npy_known_keys(header))
        return sg_npy_fail(err, err_size, "%s: the .npy header is not the dictionary numpy writes", path);

    const char *descr = sg_npy_field(header, "descr");
    if (descr == NULL || *descr != '\'')
        return sg_npy_fail(err, err_size, "%s: the .npy header has no 'descr' string", path);
    size_t n = 0;
    descr++;
    while (descr[n] != '\'' && descr[n] != '\0' && n < sizeof out->descr - 1) n++;
    if (descr[n] != '\'')
        return sg_npy_fail(err, err_size, "%s: the .npy dtype is not one this command reads", path);
    memcpy(out->descr, descr, n);
    out->descr[n] = '\0';
    if (n != 3 || (out->descr[0] != '<' && out->descr[0] != '>' && out->descr[0] != '|') || out->descr[2] < '1' ||
        out->descr[2] > '8')
        return sg_npy_fail(err, err_size, "%s: the .npy dtype '%s' is not one this command reads", path, out->descr);
    out->itemsize = (size_t)(out->descr[2] - '0');

    const char *fortran = sg_npy_field(header, "fortran_order");
    if (fortran == NULL || (strncmp(fortran, "False", 5) != 0 && strncmp(fortran, "True", 4) != 0))
        return sg_npy_fail(err, err_size, "%s: the .npy header has no 'fortran_order'", path);
    if (strncmp(fortran, "True", 4) == 0)
        return sg_npy_fail(err, err_size,
                           "%s: the array is in Fortran order; save a C-ordered one (numpy.ascontiguousarray)", path);

    const char *shape = sg_npy_field(header, "shape");
    if (shape == NULL || *shape != '(') return sg_npy_fail(err, err_size, "%s: the .npy header has no 'shape'", path);
    shape = sg_npy_skip_space(shape + 1);
    out->rank = 0;
    out->count = 1;
    while (*shape != ')') {
        if (out->rank == SG_NPY_MAX_RANK)
            return sg_npy_fail(err, err_size, "%s: more than %d axes", path, SG_NPY_MAX_RANK);
        if (*shape < '0' || *shape > '9') return sg_npy_fail(err, err_size, "%s: the .npy shape is malformed", path);
        int64_t size = 0;
        while (*shape >= '0' && *shape <= '9') {
            if (size > (INT64_MAX - 9) / 10) return sg_npy_fail(err, err_size, "%s: an axis is too long", path);
            size = size * 10 + (*shape - '0');
            shape++;
        }
        out->shape[out->rank++] = size;
        if (size != 0 && out->count > SIZE_MAX / out->itemsize / (size_t)size)
            return sg_npy_fail(err, err_size, "%s: the array is larger than memory can address", path);
        out->count *= (size_t)size;
        shape = sg_npy_skip_space(shape);
        if (*shape == ',') shape = sg_npy_skip_space(shape + 1);
        else if (*shape != ')') return sg_npy_fail(err, err_size, "%s: the .npy shape is malformed", path);
    }
    return 0;
}

int sg_npy_read(const char *path, sg_npy_array *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return sg_npy_fail(err, err_size, "%s: cannot open: %s", path, strerror(errno));
    unsigned char lead[12];
    char *header = NULL;
    int status = -1;
    if (fread(lead, 1, 8, f) != 8 || memcmp(lead, "\x93NUMPY", 6) != 0) {
        sg_npy_fail(err, err_size, "%s: not a .npy file (no \\x93NUMPY magic)", path);
        goto done;
    }
    size_t header_len;
    if (lead[6] == 1) {
        if (fread(lead + 8, 1, 2, f) != 2) goto truncated;
        header_len = (size_t)lead[8] | (size_t)lead[9] << 8;
    } else if (lead[6] == 2 || lead[6] == 3) {
        if (fread(lead + 8, 1, 4, f) != 4) goto truncated;
        header_len = (size_t)lead[8] | (size_t)lead[9] << 8 | (size_t)lead[10] << 16 | (size_t)lead[11] << 24;
    } else {
        sg_npy_fail(err, err_size, "%s: .npy format version %d.%d is not one this command reads", path, lead[6],
                    lead[7]);
        goto done;
    }
    if (header_len > SG_NPY_MAX_HEADER) {
        sg_npy_fail(err, err_size, "%s: the .npy header claims %zu bytes (at most %d)", path, header_len,
                    SG_NPY_MAX_HEADER);
        goto done;
    }
    header = (char *)malloc(header_len + 1);
    if (header == NULL) {
        sg_npy_fail(err, err_size, "%s: out of memory", path);
        goto done;
    }
    if (fread(header, 1, header_len, f) != header_len) goto truncated;
    header[header_len] = '\0';
    if (strlen(header) != header_len) {
        sg_npy_fail(err, err_size, "%s: the .npy header holds a NUL byte", path);
        goto done;
    }
    if (sg_npy_parse_header(path, header, out, err, err_size) != 0) goto done;
    const size_t nbytes = out->count * out->itemsize;
    out->data = malloc(nbytes ? nbytes : 1);
    if (out->data == NULL) {
        sg_npy_fail(err, err_size, "%s: out of memory for %zu bytes", path, nbytes);
        goto done;
    }
    if (fread(out->data, 1, nbytes, f) != nbytes) goto truncated;
    if (fgetc(f) != EOF) {
        sg_npy_fail(err, err_size, "%s: more data than the header's shape holds", path);
        goto done;
    }
    status = 0;
    goto done;
truncated:
    sg_npy_fail(err, err_size, "%s: the file ends early (truncated .npy)", path);
done:
    free(header);
    fclose(f);
    if (status != 0) sg_npy_free(out);
    return status;
}

int sg_npy_write(const char *path, const char *descr, int rank, const int64_t *shape, const void *data,
                 size_t nbytes, char *err, size_t err_size)
{
    char dict[1024];
    size_t len = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int d = 0; d < rank && len < sizeof dict; d++)
        len += (size_t)snprintf(dict + len, sizeof dict - len, rank == 1 ? "%lld," : (d ? ", %lld" : "%lld"),
                                (long long)shape[d]);
    if (len < sizeof dict) len += (size_t)snprintf(dict + len, sizeof dict - len, "), }");
    if (len + 64 >= sizeof dict) return sg_npy_fail(err, err_size, "%s: too many axes for a .npy header", path);
    /* numpy pads the header with spaces and a newline so that the data starts 64-byte aligned */
    const size_t total = (10 + len + 1 + 63) / 64 * 64;
    while (10 + len + 1 < total) dict[len++] = ' ';
    dict[len++] = '\n';
    unsigned char lead[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(len & 0xff),
                              (unsigned char)(len >> 8)};
    FILE *f = fopen(path, "wb");
    if (f == NULL) return sg_npy_fail(err, err_size, "%s: cannot create: %s", path, strerror(errno));
    int ok = fwrite(lead, 1, sizeof lead, f) == sizeof lead && fwrite(dict, 1, len, f) == len &&
             (nbytes == 0 || fwrite(data, 1, nbytes, f) == nbytes);
    ok = fclose(f) == 0 && ok;
    if (!ok) return sg_npy_fail(err, err_size, "%s: cannot write: %s", path, strerror(errno));
    return 0;
}

void sg_npy_free(sg_npy_array *a)
{
    free(a->data);
    a->data = NULL;
}
"""
