/* symgraph_call.c: the call path of compiled functions, as a small CPython extension.
 *
 * A compiled function's per-call work is tiny (check the arguments, allocate the
 * outputs, fill a pointer array, call the entry point), so in Python it costs more than
 * the computation on small data. This module does it in C. It is generic: a `Caller` is
 * made once per compiled function from a plan (symgraph/runtime/program.py: _caller_plan)
 * and holds, parsed into C structs, what the checks need:
 *
 *   plan = (entry, buf, sizes, failed, errbuf, errbuf_size,   # addresses (ints) and a size
 *           state, inputs, outputs, trusted)                 # state: the function's sg_call_state
 *   inputs  = ((typenum, ndim, ((axis, size), ...), ((axis, k, first), ...)), ...)
 *   outputs = ((typenum, ndim, kind, data), ...)   kind 0: data = static dims;
 *             kind 1: data = index of the input whose shape it has;
 *             kind 2: data = dims, -1 - k meaning the k-th symbolic size
 *
 * Calling it with the positional arguments returns the list of outputs; None when an
 * argument is anything but a C-contiguous, aligned ndarray of the exact dtype, rank and
 * static sizes (the caller then takes the checked Python path, which converts or raises
 * the right error); or the entry's non-zero status as an int (the caller raises the
 * error it names, reading the message and failing node from the buffers it owns).
 *
 * One call at a time per function: the pointer and size arrays are shared between calls
 * (as the Python path's are), so a call first takes the function's state (sg_call_enter,
 * atomic: the Python path takes the same one) and a second thread gets SG_ERR_BUSY back
 * before anything is written. The GIL is released around the entry call, as cffi does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <stddef.h>
#include <stdint.h>

#include "symgraph_runtime.h"

#define SG_MAX_DIMS 32

typedef int (*sg_entry_fn)(void **, const int64_t *, int32_t *, char *, size_t);

typedef struct {
    int typenum, ndim, n_static, n_binds;
    int static_axis[SG_MAX_DIMS];
    npy_intp static_size[SG_MAX_DIMS];
    int bind_axis[SG_MAX_DIMS], bind_k[SG_MAX_DIMS], bind_first[SG_MAX_DIMS];
} sg_in_spec;

typedef struct {
    int typenum, ndim, kind, input;
    npy_intp dims[SG_MAX_DIMS];
} sg_out_spec;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    sg_entry_fn entry;
    void **buf;
    int64_t *sizes;
    int32_t *failed;
    char *errbuf;
    size_t errbuf_size;
    sg_call_state *state;
    int n_in, n_out, trusted;
    sg_in_spec *ins;
    sg_out_spec *outs;
} Caller;

static void *as_pointer(PyObject *o) { return PyLong_AsVoidPtr(o); }

static int parse_ints(PyObject *seq, int limit, int *out, npy_intp *out_wide, int *count)
{
    Py_ssize_t n = PyTuple_Size(seq);
    if (n < 0 || n > limit) return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        long long v = PyLong_AsLongLong(PyTuple_GET_ITEM(seq, i));
        if (v == -1 && PyErr_Occurred()) return -1;
        if (out) out[i] = (int)v;
        if (out_wide) out_wide[i] = (npy_intp)v;
    }
    *count = (int)n;
    return 0;
}

static int parse_inputs(Caller *c, PyObject *inputs)
{
    c->n_in = (int)PyTuple_Size(inputs);
    c->ins = PyMem_Calloc(c->n_in ? c->n_in : 1, sizeof(sg_in_spec));
    if (c->ins == NULL) return -1;
    for (int i = 0; i < c->n_in; i++) {
        sg_in_spec *s = &c->ins[i];
        PyObject *spec = PyTuple_GET_ITEM(inputs, i), *statics, *binds;
        if (!PyArg_ParseTuple(spec, "iiO!O!", &s->typenum, &s->ndim, &PyTuple_Type, &statics, &PyTuple_Type, &binds))
            return -1;
        if (s->ndim > SG_MAX_DIMS) return -1;
        s->n_static = (int)PyTuple_Size(statics);
        s->n_binds = (int)PyTuple_Size(binds);
        if (s->n_static > SG_MAX_DIMS || s->n_binds > SG_MAX_DIMS) return -1;
        for (int j = 0; j < s->n_static; j++) {
            long long axis, size;
            if (!PyArg_ParseTuple(PyTuple_GET_ITEM(statics, j), "LL", &axis, &size)) return -1;
            s->static_axis[j] = (int)axis;
            s->static_size[j] = (npy_intp)size;
        }
        for (int j = 0; j < s->n_binds; j++) {
            int axis, k, first;
            if (!PyArg_ParseTuple(PyTuple_GET_ITEM(binds, j), "iip", &axis, &k, &first)) return -1;
            s->bind_axis[j] = axis;
            s->bind_k[j] = k;
            s->bind_first[j] = first;
        }
    }
    return 0;
}

static int parse_outputs(Caller *c, PyObject *outputs)
{
    c->n_out = (int)PyTuple_Size(outputs);
    c->outs = PyMem_Calloc(c->n_out ? c->n_out : 1, sizeof(sg_out_spec));
    if (c->outs == NULL) return -1;
    for (int i = 0; i < c->n_out; i++) {
        sg_out_spec *s = &c->outs[i];
        PyObject *data;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(outputs, i), "iiiO", &s->typenum, &s->ndim, &s->kind, &data)) return -1;
        if (s->ndim > SG_MAX_DIMS) return -1;
        if (s->kind == 1) {
            s->input = (int)PyLong_AsLong(data);
            if (PyErr_Occurred()) return -1;
        } else {
            int n;
            if (!PyTuple_Check(data) || parse_ints(data, SG_MAX_DIMS, NULL, s->dims, &n) < 0 || n != s->ndim) return -1;
        }
    }
    return 0;
}

static PyObject *caller_run(Caller *c, PyObject *const *args, size_t nargsf, PyObject *kwnames);

static PyObject *caller_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Caller *c = (Caller *)self;
    if (sg_call_enter(c->state)) return PyLong_FromLong(SG_ERR_BUSY);
    PyObject *result = caller_run(c, args, nargsf, kwnames);
    sg_call_leave(c->state);
    return result;
}

/* One call, the function's state taken: the outputs, None for unusual arguments (the
 * checked Python path serves), or the entry's status. */
static PyObject *caller_run(Caller *c, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL || nargs != c->n_in) Py_RETURN_NONE;
    for (int i = 0; i < c->n_in; i++) {
        const sg_in_spec *s = &c->ins[i];
        PyObject *o = args[i];
        if (!c->trusted) {
            if (!PyArray_CheckExact(o)) Py_RETURN_NONE;
            PyArrayObject *a = (PyArrayObject *)o;
            /* a byte-swapped array has the same type number: the checked path converts it */
            if (PyArray_TYPE(a) != s->typenum || PyArray_NDIM(a) != s->ndim || !PyArray_IS_C_CONTIGUOUS(a) ||
                !PyArray_ISALIGNED(a) || !PyArray_ISNOTSWAPPED(a))
                Py_RETURN_NONE;
        } else if (!PyArray_Check(o)) {
            Py_RETURN_NONE;
        }
        PyArrayObject *a = (PyArrayObject *)o;
        const npy_intp *shape = PyArray_SHAPE(a);
        for (int j = 0; j < s->n_static; j++)
            if (shape[s->static_axis[j]] != s->static_size[j]) Py_RETURN_NONE;
        for (int j = 0; j < s->n_binds; j++) {
            int64_t size = (int64_t)shape[s->bind_axis[j]];
            if (s->bind_first[j]) c->sizes[s->bind_k[j]] = size;
            else if (c->sizes[s->bind_k[j]] != size) Py_RETURN_NONE;
        }
        c->buf[i] = PyArray_DATA(a);
    }
    PyObject *result = PyList_New(c->n_out);
    if (result == NULL) return NULL;
    for (int i = 0; i < c->n_out; i++) {
        const sg_out_spec *s = &c->outs[i];
        npy_intp dims[SG_MAX_DIMS];
        const npy_intp *use = dims;
        if (s->kind == 1) {
            use = PyArray_SHAPE((PyArrayObject *)args[s->input]);
        } else {
            for (int d = 0; d < s->ndim; d++)
                dims[d] = s->dims[d] >= 0 ? s->dims[d] : (npy_intp)c->sizes[-1 - s->dims[d]];
        }
        PyObject *out = PyArray_SimpleNew(s->ndim, (npy_intp *)use, s->typenum);
        if (out == NULL) {
            Py_DECREF(result);
            /* too large or no memory: the checked path says which output, and why */
            if (!PyErr_ExceptionMatches(PyExc_ValueError) && !PyErr_ExceptionMatches(PyExc_MemoryError)) return NULL;
            PyErr_Clear();
            Py_RETURN_NONE;
        }
        PyList_SET_ITEM(result, i, out);
        c->buf[c->n_in + i] = PyArray_DATA((PyArrayObject *)out);
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = c->entry(c->buf, c->sizes, c->failed, c->errbuf, c->errbuf_size);
    Py_END_ALLOW_THREADS
    if (status != 0) {
        Py_DECREF(result);
        return PyLong_FromLong(status);
    }
    return result;
}

static PyObject *caller_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *entry, *buf, *sizes, *failed, *errbuf, *state, *inputs, *outputs;
    Py_ssize_t errbuf_size;
    int trusted;
    if (!PyArg_ParseTuple(args, "OOOOOnOO!O!p", &entry, &buf, &sizes, &failed, &errbuf, &errbuf_size, &state,
                          &PyTuple_Type, &inputs, &PyTuple_Type, &outputs, &trusted))
        return NULL;
    Caller *c = (Caller *)type->tp_alloc(type, 0);
    if (c == NULL) return NULL;
    c->vectorcall = caller_vectorcall;
    c->entry = (sg_entry_fn)as_pointer(entry);
    c->buf = (void **)as_pointer(buf);
    c->sizes = (int64_t *)as_pointer(sizes);
    c->failed = (int32_t *)as_pointer(failed);
    c->errbuf = (char *)as_pointer(errbuf);
    c->errbuf_size = (size_t)errbuf_size;
    c->state = (sg_call_state *)as_pointer(state);
    c->trusted = trusted;
    if (PyErr_Occurred() || parse_inputs(c, inputs) < 0 || parse_outputs(c, outputs) < 0) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "symgraph: malformed call plan");
        Py_DECREF(c);
        return NULL;
    }
    return (PyObject *)c;
}

static void caller_dealloc(PyObject *self)
{
    Caller *c = (Caller *)self;
    PyMem_Free(c->ins);
    PyMem_Free(c->outs);
    Py_TYPE(self)->tp_free(self);
}

static PyTypeObject CallerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "symgraph_call.Caller",
    .tp_basicsize = sizeof(Caller),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = caller_new,
    .tp_dealloc = caller_dealloc,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(Caller, vectorcall),
    .tp_doc = "The C call path of one compiled function (see symgraph_call.c).",
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "symgraph_call", NULL, -1, NULL};

#define SG_INIT_NAME(name) PyInit_##name
#define SG_INIT(name) SG_INIT_NAME(name)

PyMODINIT_FUNC SG_INIT(SG_MODULE_NAME)(void)
{
    import_array();
    if (PyType_Ready(&CallerType) < 0) return NULL;
    module.m_name = SG_MODULE_NAME_STR;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&CallerType);
    if (PyModule_AddObject(m, "Caller", (PyObject *)&CallerType) < 0) {
        Py_DECREF(&CallerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
