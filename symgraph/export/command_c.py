"""The C text of ``NAME_main.c``: the command an export builds, ``./NAME in.npy out.npy``.

It is the same for every export but for the name (``@NAME@``, ``@UNAME@`` are replaced):
everything it knows about the function it asks the API of ``NAME.h`` (the inputs' dtypes,
the sizes bound from their shapes, the outputs' shapes), so this file is no second
description of the function that could disagree with the first.
"""

from __future__ import annotations

MAIN_C = r"""/* @NAME@_main.c: the command `@NAME@`, the exported function run from a shell.
 *
 *     ./@NAME@ [--weights FILE] INPUT.npy... OUTPUT.npy...
 *
 * reads each input from a .npy file (numpy.save's format; the dtype the function declares,
 * C order, this machine's byte order), binds the symbolic sizes from their shapes, runs the
 * function once and writes each output to a .npy file. `./@NAME@ --help` lists the inputs
 * and outputs. Exit status: 0 done, 1 a file or the function failed (the message is on
 * stderr), 2 a wrong command line.
 *
 * A build whose weights are a file (@UNAME@_WEIGHTS_FILE) reads @NAME@.bin from the
 * command's own directory unless --weights names another.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "@NAME@.h"
#include "sg_npy.h"

#define N_IN (@UNAME@_N_INPUTS > 0 ? @UNAME@_N_INPUTS : 1)
#define N_OUT (@UNAME@_N_OUTPUTS > 0 ? @UNAME@_N_OUTPUTS : 1)
#define N_SIZES (@UNAME@_N_SIZES > 0 ? @UNAME@_N_SIZES : 1)

static void usage(FILE *out, const char *argv0)
{
    fprintf(out, "usage: %s%s", argv0, @UNAME@_WEIGHTS_FILE ? " [--weights FILE]" : "");
    for (int k = 0; k < @UNAME@_N_INPUTS; k++) fprintf(out, " INPUT%d.npy", k);
    for (int k = 0; k < @UNAME@_N_OUTPUTS; k++) fprintf(out, " OUTPUT%d.npy", k);
    fprintf(out, "\n\nRuns the symgraph export @NAME@ once: reads each input from a .npy file, writes each output.\n");
    for (int k = 0; k < @UNAME@_N_INPUTS; k++)
        fprintf(out, "  INPUT%d   %s: %s\n", k, @NAME@_input_name(k), @NAME@_input_type(k));
    for (int k = 0; k < @UNAME@_N_OUTPUTS; k++)
        fprintf(out, "  OUTPUT%d  %s: %s\n", k, @NAME@_output_name(k), @NAME@_output_type(k));
    if (@UNAME@_WEIGHTS_FILE) fprintf(out, "  --weights FILE   the weights (default: @NAME@.bin beside the command)\n");
}

static const char *status_word(int status)
{
    switch (status) {
    case @UNAME@_ERR_SHAPE: return "shape";
    case @UNAME@_ERR_INDEX: return "index out of range";
    case @UNAME@_ERR_VALUE: return "invalid value";
    case @UNAME@_ERR_NOMEM: return "out of memory";
    case @UNAME@_ERR_BUSY: return "busy";
    case @UNAME@_ERR_ARGUMENT: return "argument";
    case @UNAME@_ERR_WEIGHTS: return "weights";
    default: return "internal";
    }
}

int main(int argc, char **argv)
{
    const char *argv0 = argc > 0 ? argv[0] : "@NAME@";
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout, argv0);
        return 0;
    }
    const char *weights = NULL;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--weights") == 0) {
        if (!@UNAME@_WEIGHTS_FILE) {
            fprintf(stderr, "%s: the weights are compiled into this build; --weights does not apply\n", argv0);
            return 2;
        }
        weights = argv[2];
        first = 3;
    }
    if (argc - first != @UNAME@_N_INPUTS + @UNAME@_N_OUTPUTS) {
        fprintf(stderr, "%s: expected %d input and %d output .npy files, got %d arguments\n", argv0,
                @UNAME@_N_INPUTS, @UNAME@_N_OUTPUTS, argc - first);
        usage(stderr, argv0);
        return 2;
    }
    char default_weights[4096];
    if (@UNAME@_WEIGHTS_FILE && weights == NULL) {
        const char *slash = strrchr(argv0, '/');
        if (slash == NULL)
            snprintf(default_weights, sizeof default_weights, "@NAME@.bin");
        else
            snprintf(default_weights, sizeof default_weights, "%.*s/@NAME@.bin", (int)(slash - argv0), argv0);
        weights = default_weights;
    }

    int status = 1;
    char err[1024];
    sg_npy_array in[N_IN];
    memset(in, 0, sizeof in);
    void *out[N_OUT] = {0};
    int ranks[N_IN] = {0};
    const int64_t *shapes[N_IN] = {0};
    const void *in_data[N_IN] = {0};
    int64_t sizes[N_SIZES] = {0};
    @NAME@_ctx *ctx = NULL;

    for (int k = 0; k < @UNAME@_N_INPUTS; k++) {
        const char *path = argv[first + k];
        if (sg_npy_read(path, &in[k], err, sizeof err) != 0) {
            fprintf(stderr, "%s: input %d (%s): %s\n", argv0, k, @NAME@_input_name(k), err);
            goto done;
        }
        char want[8];
        sg_npy_descr(@NAME@_input_dtype(k), want);
        if (strcmp(in[k].descr, want) != 0) {
            fprintf(stderr, "%s: input %d (%s) is %s, numpy dtype '%s'; %s holds '%s'\n", argv0, k,
                    @NAME@_input_name(k), @NAME@_input_type(k), want, path, in[k].descr);
            goto done;
        }
        ranks[k] = in[k].rank;
        shapes[k] = in[k].shape;
        in_data[k] = in[k].data;
    }
    if (@NAME@_bind_sizes(ranks, shapes, sizes, err, sizeof err) != @UNAME@_OK) {
        fprintf(stderr, "%s: %s\n", argv0, err);
        goto done;
    }
    int init = @NAME@_init(&ctx, weights);
    if (init != @UNAME@_OK) {
        fprintf(stderr, "%s: error (%s): %s\n", argv0, status_word(init), @NAME@_error_message(ctx));
        goto done;
    }
    int64_t out_shape[N_OUT][@UNAME@_MAX_RANK > 0 ? @UNAME@_MAX_RANK : 1];
    size_t out_bytes[N_OUT] = {0};
    for (int k = 0; k < @UNAME@_N_OUTPUTS; k++) {
        const int rank = @NAME@_output_shape(k, sizes, out_shape[k]);
        char descr[8];
        size_t bytes = sg_npy_descr(@NAME@_output_dtype(k), descr);
        for (int d = 0; d < rank; d++) {
            if (out_shape[k][d] != 0 && bytes > SIZE_MAX / (size_t)out_shape[k][d]) {
                fprintf(stderr, "%s: output %d is larger than memory can address\n", argv0, k);
                goto done;
            }
            bytes *= (size_t)out_shape[k][d];
        }
        out_bytes[k] = bytes;
        out[k] = malloc(bytes ? bytes : 1);
        if (out[k] == NULL) {
            fprintf(stderr, "%s: out of memory for output %d (%zu bytes)\n", argv0, k, bytes);
            goto done;
        }
    }
    const int run = @NAME@_run_arrays(ctx, sizes, in_data, out);
    if (run != @UNAME@_OK) {
        fprintf(stderr, "%s: error (%s): %s\n", argv0, status_word(run), @NAME@_error_message(ctx));
        goto done;
    }
    for (int k = 0; k < @UNAME@_N_OUTPUTS; k++) {
        char descr[8];
        sg_npy_descr(@NAME@_output_dtype(k), descr);
        const int rank = @NAME@_output_shape(k, sizes, out_shape[k]);
        const char *path = argv[first + @UNAME@_N_INPUTS + k];
        if (sg_npy_write(path, descr, rank, out_shape[k], out[k], out_bytes[k], err, sizeof err) != 0) {
            fprintf(stderr, "%s: output %d: %s\n", argv0, k, err);
            goto done;
        }
    }
    status = 0;
done:
    @NAME@_free(ctx);
    for (int k = 0; k < @UNAME@_N_INPUTS; k++) sg_npy_free(&in[k]);
    for (int k = 0; k < @UNAME@_N_OUTPUTS; k++) free(out[k]);
    return status;
}
"""


def main_c(name: str) -> str:
    """The command's source for the export ``name`` (a checked C identifier)."""
    return MAIN_C.replace("@UNAME@", name.upper()).replace("@NAME@", name)
