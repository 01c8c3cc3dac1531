/*
 * _espfast: the PFE's batched fast path in C (the same loops as fastpath.py, byte for byte).
 *
 * Why C: at 1400 bytes AES-GCM costs under a microsecond per direction, and the interpreter work around it
 * (header checks, checksum, TTL, replay window, trailer, building the output) cost two to three times as
 * much in Python. This module does that per-packet work over a whole batch; the cryptography itself stays
 * with `cryptography`: each SA's AESGCM.encrypt_into / decrypt_into is called through the C API
 * (vectorcall) with buffers that point straight into the packets, so nothing is copied twice.
 *
 * What stays in Python (fastpath.py): building the cached decisions (FastOut / FastIn / FastForward), and
 * everything unusual. A packet this module cannot finish goes back to Python exactly where the Python fast
 * path would send it: `slow` (never classified), `diverted` (classified, then handed to the general path)
 * or the per-SA list of decrypted packets that need the general path (`FastTables._finish_decap`).
 *
 * Every read of packet bytes is bounds-checked against the packet's length before it happens; packets that
 * are not `bytes` objects are left to the general path.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <limits.h>
#include <structmember.h>

#define OUTER_TTL 64
#define PROTO_UDP 17
#define PROTO_ESP 50
#define NEXT_HEADER_IPV4 4
#define ICV_LENGTH 16
#define MAX_REPLAY_WINDOW 65536
#define ESN_INFERENCE_WINDOW (1ULL << 31)

/* ----------------------------------------------------------------------------------- interned names */
/* Set once at import and never changed: constants, not state. */
static struct {
    PyObject *invalid_tag;
    PyObject *seq, *last_used, *native, *counters, *top, *bitmap, *egress, *mtu;
    PyObject *input_packets, *input_bytes, *output_packets, *output_bytes;
    PyObject *esp_encrypted_packets, *esp_encrypted_bytes, *esp_decrypted_packets, *esp_decrypted_bytes;
    PyObject *replay_errors, *discard_errors, *esp_authentication_failures;
    PyObject *ingress, *tunnel_by_dst, *own4, *inbound, *inbound_udp, *forward_by_dst, *dirty;
    PyObject *tunnel_decision, *forward_decision, *finish_decap, *dest_cache;
    PyObject *to_bytes, *from_bytes, *little;
} S;

/* ----------------------------------------------------------------------------------- byte helpers */
static inline unsigned rd16(const uint8_t *p) { return ((unsigned)p[0] << 8) | p[1]; }

static inline uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void wr16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)(v >> 32));
    wr32(p + 4, (uint32_t)v);
}

/* Sum of the ten 16-bit words of a 20-byte IPv4 header. Modulo 0xFFFF it equals the header read as one
 * big integer modulo 0xFFFF, which is how ip.checksum and the Python fast path test it. */
static inline uint32_t header_sum(const uint8_t *p)
{
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) {
        sum += rd16(p + i);
    }
    return sum;
}

static inline int header_ok(const uint8_t *p) { return header_sum(p) % 0xFFFF == 0; }

/* ip.checksum of a header whose checksum field is zero. */
static inline unsigned header_checksum(const uint8_t *p)
{
    uint32_t sum = header_sum(p);
    uint32_t total = sum % 0xFFFF;
    if (total == 0 && sum) {
        total = 0xFFFF;
    }
    return 0xFFFF - total;
}

/* RFC 1624 update of a header checksum after the TTL went down by one (as ip.decrement_ttl). */
static inline unsigned checksum_after_ttl(unsigned checksum)
{
    uint32_t value = checksum + 0x100;
    return (value + (value >> 16)) & 0xFFFF;
}

/* ----------------------------------------------------------------------------------- Window */
/* A buffer-protocol view of memory we own for the duration of one call into cryptography: lets the
 * AESGCM methods read and write packet bytes in place with no per-packet Python object. It is never
 * handed out except as an argument of those calls, and it is emptied before the batch ends. */
typedef struct {
    PyObject_HEAD
    char *buf;
    Py_ssize_t len;
    int readonly;
    Py_ssize_t exports;
} Window;

static char empty_window[1];

static int
Window_getbuffer(PyObject *op, Py_buffer *view, int flags)
{
    Window *w = (Window *)op;
    char *buf = w->buf ? w->buf : empty_window;
    if (PyBuffer_FillInfo(view, op, buf, w->buf ? w->len : 0, w->readonly, flags) < 0) {
        return -1;
    }
    w->exports++;
    return 0;
}

static void
Window_releasebuffer(PyObject *op, Py_buffer *view)
{
    (void)view;
    ((Window *)op)->exports--;
}

static PyBufferProcs Window_as_buffer = {Window_getbuffer, Window_releasebuffer};

static PyTypeObject WindowType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "netconf_device.pfe._espfast._Window",
    .tp_basicsize = sizeof(Window),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_as_buffer = &Window_as_buffer,
    .tp_doc = "internal: a view of packet memory for one AES-GCM call",
};

static Window *
window_new(int readonly)
{
    Window *w = PyObject_New(Window, &WindowType);
    if (w != NULL) {
        w->buf = NULL;
        w->len = 0;
        w->readonly = readonly;
        w->exports = 0;
    }
    return w;
}

/* Point *slot at [buf, buf + len). A window still exported (nobody should keep one) is replaced, never
 * moved under its holder. */
static int
window_point(Window **slot, void *buf, Py_ssize_t len)
{
    Window *w = *slot;
    if (w->exports) {
        Window *fresh = window_new(w->readonly);
        if (fresh == NULL) {
            return -1;
        }
        w->buf = NULL;
        w->len = 0;
        Py_DECREF(w);
        *slot = w = fresh;
    }
    w->buf = (char *)buf;
    w->len = len;
    return 0;
}

/* ----------------------------------------------------------------------------------- small helpers */
/* Attribute access to the per-SA state objects (counters, SAs, replay windows). They are __slots__
 * classes, so an attribute is a member descriptor: a fixed offset into the object. Going through the slot
 * directly, rather than PyObject_GetAttr/SetAttr, skips the generic attribute machinery, which with 2000
 * SAs (one packet per SA per batch, every object cold) was a third of the time per packet. Anything else
 * (a property, a custom __getattribute__/__setattr__, an instance dict) takes the generic protocol, so the
 * behaviour is exactly that of PyObject_GetAttr/SetAttr. */
static PyObject **
member_slot(PyObject *obj, PyObject *name)
{
    PyTypeObject *type = Py_TYPE(obj);
    if (type->tp_getattro != PyObject_GenericGetAttr || type->tp_setattro != PyObject_GenericSetAttr) {
        return NULL;
    }
    PyObject *descr = _PyType_Lookup(type, name); /* borrowed, from the type's attribute cache */
    if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        return NULL;
    }
    PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
    if (member->type != T_OBJECT_EX || member->flags & READONLY) {
        return NULL;
    }
    return (PyObject **)((char *)obj + member->offset);
}

/* obj.name (new reference). */
static PyObject *
get_attr(PyObject *obj, PyObject *name)
{
    PyObject **slot = member_slot(obj, name);
    if (slot == NULL || *slot == NULL) { /* an unset slot: let the generic path raise AttributeError */
        return PyObject_GetAttr(obj, name);
    }
    return Py_NewRef(*slot);
}

/* obj.name = value. */
static int
set_attr(PyObject *obj, PyObject *name, PyObject *value)
{
    PyObject **slot = member_slot(obj, name);
    if (slot == NULL) {
        return PyObject_SetAttr(obj, name, value);
    }
    Py_XSETREF(*slot, Py_NewRef(value));
    return 0;
}

/* obj.name += delta (Python ints, like the Python fast path's counters). */
static int
add_attr(PyObject *obj, PyObject *name, unsigned long long delta)
{
    if (delta == 0) {
        return 0;
    }
    PyObject *value = get_attr(obj, name);
    if (value == NULL) {
        return -1;
    }
    PyObject *sum = NULL;
    if (PyLong_CheckExact(value)) { /* the common case: one int allocation, not two */
        unsigned long long current = PyLong_AsUnsignedLongLong(value);
        if (current == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear(); /* negative or beyond 64 bits: Python arithmetic below */
        }
        else if (current <= ULLONG_MAX - delta) {
            sum = PyLong_FromUnsignedLongLong(current + delta);
            if (sum == NULL) {
                Py_DECREF(value);
                return -1;
            }
        }
    }
    if (sum == NULL) {
        PyObject *step = PyLong_FromUnsignedLongLong(delta);
        if (step == NULL) {
            Py_DECREF(value);
            return -1;
        }
        sum = PyNumber_Add(value, step);
        Py_DECREF(step);
    }
    Py_DECREF(value);
    if (sum == NULL) {
        return -1;
    }
    int rc = set_attr(obj, name, sum);
    Py_DECREF(sum);
    return rc;
}

static int
get_u64_attr(PyObject *obj, PyObject *name, uint64_t *out)
{
    PyObject *value = get_attr(obj, name);
    if (value == NULL) {
        return -1;
    }
    unsigned long long v = PyLong_AsUnsignedLongLong(value);
    Py_DECREF(value);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        return -1;
    }
    *out = v;
    return 0;
}

static int
set_u64_attr(PyObject *obj, PyObject *name, uint64_t v)
{
    PyObject *value = PyLong_FromUnsignedLongLong(v);
    if (value == NULL) {
        return -1;
    }
    int rc = set_attr(obj, name, value);
    Py_DECREF(value);
    return rc;
}

static int
append_pair(PyObject *list, PyObject *first, PyObject *second)
{
    PyObject *pair = PyTuple_Pack(2, first, second);
    if (pair == NULL) {
        return -1;
    }
    int rc = PyList_Append(list, pair);
    Py_DECREF(pair);
    return rc;
}

/* The first error of a sequence of write-backs, kept aside so that later steps run with no exception set. */
typedef struct {
    PyObject *type, *value, *traceback;
} Stash;

static void
stash_error(Stash *stash)
{
    if (!PyErr_Occurred()) {
        return;
    }
    if (stash->type == NULL) {
        PyErr_Fetch(&stash->type, &stash->value, &stash->traceback);
    }
    else {
        PyErr_Clear(); /* the first error wins */
    }
}

/* -1 with the kept error raised again, or 0. */
static int
stash_restore(Stash *stash)
{
    if (stash->type == NULL) {
        return 0;
    }
    PyErr_Restore(stash->type, stash->value, stash->traceback);
    return -1;
}

#define KEEP(stash, call) \
    do { \
        if ((call) < 0) { \
            stash_error(stash); \
        } \
    } while (0)

static int
copy_fixed_bytes(PyObject *value, uint8_t *out, Py_ssize_t size, const char *what)
{
    char *buf;
    Py_ssize_t len;
    if (!PyBytes_Check(value) || PyBytes_AsStringAndSize(value, &buf, &len) < 0 || len != size) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_ValueError, "%s must be %zd bytes", what, size);
        }
        return -1;
    }
    memcpy(out, buf, (size_t)size);
    return 0;
}

/* ----------------------------------------------------------------------------------- Encap */
typedef struct {
    PyObject_HEAD
    PyObject *encrypt_into;
    PyObject *sa;
    PyObject *egress;
    PyObject *st0;
    PyObject *tunnel;
    PyObject *wan;
    uint64_t seq_soft; /* rekey threshold of the sequence counter (fixed for the SA's life) */
    uint32_t spi;
    int esn;
    int df_mode; /* 0 copy, 1 set, 2 clear */
    Py_ssize_t max_inner;
    unsigned sport; /* non-zero: NAT-T, an 8-byte UDP header follows the IPv4 header */
    unsigned dport;
    uint8_t salt[4];
    uint8_t local[4];
    uint8_t remote[4];
    /* Deferred write-back (see "Deferred counters" below): what this SA sent since the last flush. */
    unsigned long long pend_packets, pend_inner, pend_outer;
    PyObject *pend_used; /* the `now` of the last batch that sent on it (strong), or NULL */
    int listed;          /* in FastTables._dirty since its last flush */
} Encap;

static int encap_flush(PyObject *op);
static void flush_on_dealloc(PyObject *op, int (*flush)(PyObject *));

static void
Encap_dealloc(PyObject *op)
{
    Encap *self = (Encap *)op;
    flush_on_dealloc(op, encap_flush);
    Py_XDECREF(self->pend_used);
    Py_XDECREF(self->encrypt_into);
    Py_XDECREF(self->sa);
    Py_XDECREF(self->egress);
    Py_XDECREF(self->st0);
    Py_XDECREF(self->tunnel);
    Py_XDECREF(self->wan);
    Py_TYPE(op)->tp_free(op);
}

static PyObject *
Encap_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {
        "encrypt_into", "sa", "egress", "st0", "tunnel", "wan", "spi", "salt", "esn", "max_inner",
        "df_mode", "sport", "dport", "local", "remote", "seq_soft", NULL,
    };
    PyObject *encrypt_into, *sa, *egress, *st0, *tunnel, *wan, *salt, *local, *remote;
    unsigned long long spi, seq_soft;
    int esn, df_mode;
    Py_ssize_t max_inner;
    unsigned int sport, dport;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOUOOOKSpniIISSK:Encap", keywords, &encrypt_into, &sa,
                                     &egress, &st0, &tunnel, &wan, &spi, &salt, &esn, &max_inner, &df_mode,
                                     &sport, &dport, &local, &remote, &seq_soft)) {
        return NULL;
    }
    if (spi > 0xFFFFFFFFULL || df_mode < 0 || df_mode > 2 || sport > 0xFFFF || dport > 0xFFFF) {
        PyErr_SetString(PyExc_ValueError, "Encap parameter out of range");
        return NULL;
    }
    if (!PyCallable_Check(encrypt_into)) {
        PyErr_SetString(PyExc_TypeError, "encrypt_into must be callable");
        return NULL;
    }
    Encap *self = (Encap *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    if (copy_fixed_bytes(salt, self->salt, 4, "salt") < 0 || copy_fixed_bytes(local, self->local, 4, "local") < 0
        || copy_fixed_bytes(remote, self->remote, 4, "remote") < 0) {
        Py_DECREF(self);
        return NULL;
    }
    self->encrypt_into = Py_NewRef(encrypt_into);
    self->sa = Py_NewRef(sa);
    self->egress = Py_NewRef(egress);
    self->st0 = Py_NewRef(st0);
    self->tunnel = Py_NewRef(tunnel);
    self->wan = Py_NewRef(wan);
    self->spi = (uint32_t)spi;
    self->seq_soft = seq_soft;
    self->esn = esn;
    self->df_mode = df_mode;
    self->max_inner = max_inner;
    self->sport = sport;
    self->dport = dport;
    return (PyObject *)self;
}

static PyObject *
Encap_flush_method(PyObject *op, PyObject *unused)
{
    (void)unused;
    if (encap_flush(op) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef Encap_methods[] = {
    {"flush", Encap_flush_method, METH_NOARGS,
     "Write the deferred counters (st0 output, tunnel ESP encrypted) and last_used into the Python objects."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject EncapType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "netconf_device.pfe._espfast.Encap",
    .tp_methods = Encap_methods,
    .tp_basicsize = sizeof(Encap),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Encap_new,
    .tp_dealloc = Encap_dealloc,
    .tp_doc = "One outbound SA as the C fast path needs it (built by fastpath.FastOut).",
};

/* ----------------------------------------------------------------------------------- Decap */
typedef struct {
    PyObject_HEAD
    PyObject *decrypt_into;
    PyObject *sa;
    PyObject *replay;
    PyObject *tunnel;
    PyObject *st0;
    uint32_t spi;
    int esn;
    Py_ssize_t window; /* anti-replay window size (0: off) */
    Py_ssize_t offset; /* where the SPI starts: 20, or 28 behind a UDP header */
    unsigned udp_port; /* UDP destination port ESP arrives on (encapsulated SAs) */
    uint8_t salt[4];
    /* Deferred write-back: what this SA received and forwarded or handed on since the last flush. */
    unsigned long long pend_packets, pend_inner;
    PyObject *pend_used;
    int listed;
} Decap;

static int decap_flush(PyObject *op);

static void
Decap_dealloc(PyObject *op)
{
    Decap *self = (Decap *)op;
    flush_on_dealloc(op, decap_flush);
    Py_XDECREF(self->pend_used);
    Py_XDECREF(self->decrypt_into);
    Py_XDECREF(self->sa);
    Py_XDECREF(self->replay);
    Py_XDECREF(self->tunnel);
    Py_XDECREF(self->st0);
    Py_TYPE(op)->tp_free(op);
}

static PyObject *
Decap_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {
        "decrypt_into", "sa", "replay", "tunnel", "st0", "spi", "salt", "esn", "window", "udp_port", NULL,
    };
    PyObject *decrypt_into, *sa, *replay, *tunnel, *st0, *salt;
    unsigned long long spi;
    int esn;
    Py_ssize_t window;
    int udp_port;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOOKSpni:Decap", keywords, &decrypt_into, &sa, &replay,
                                     &tunnel, &st0, &spi, &salt, &esn, &window, &udp_port)) {
        return NULL;
    }
    /* udp_port -1: plain ESP (protocol 50); 0..65535: ESP in UDP to that port. */
    if (spi > 0xFFFFFFFFULL || window < 0 || window > MAX_REPLAY_WINDOW || udp_port < -1 || udp_port > 0xFFFF) {
        PyErr_SetString(PyExc_ValueError, "Decap parameter out of range");
        return NULL;
    }
    if (!PyCallable_Check(decrypt_into)) {
        PyErr_SetString(PyExc_TypeError, "decrypt_into must be callable");
        return NULL;
    }
    Decap *self = (Decap *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    if (copy_fixed_bytes(salt, self->salt, 4, "salt") < 0) {
        Py_DECREF(self);
        return NULL;
    }
    self->decrypt_into = Py_NewRef(decrypt_into);
    self->sa = Py_NewRef(sa);
    self->replay = Py_NewRef(replay);
    self->tunnel = Py_NewRef(tunnel);
    self->st0 = Py_NewRef(st0);
    self->spi = (uint32_t)spi;
    self->esn = esn;
    self->window = window;
    self->offset = udp_port >= 0 ? 28 : 20;
    self->udp_port = udp_port >= 0 ? (unsigned)udp_port : 0;
    return (PyObject *)self;
}

static PyObject *
Decap_flush_method(PyObject *op, PyObject *unused)
{
    (void)unused;
    if (decap_flush(op) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef Decap_methods[] = {
    {"flush", Decap_flush_method, METH_NOARGS,
     "Write the deferred counters (tunnel ESP decrypted, st0 input) and last_used into the Python objects."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject DecapType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "netconf_device.pfe._espfast.Decap",
    .tp_methods = Decap_methods,
    .tp_basicsize = sizeof(Decap),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Decap_new,
    .tp_dealloc = Decap_dealloc,
    .tp_doc = "One inbound SA as the C fast path needs it (built by fastpath.FastIn).",
};

/* ----------------------------------------------------------------------------------- Deferred counters */
/* Per-SA traffic counters (the tunnel's ESP encrypted/decrypted packets and bytes, the st0 unit's traffic)
 * and `last_used` are summed in the Encap/Decap object and written into the Python objects on `flush()`,
 * not after every batch: with 2000 tunnels every packet is on another SA, and updating those cold Python
 * objects was about a fifth of the time per packet. FastTables.flush() runs before anything reads them
 * (Datapath's statistics, activity and clear methods, and before a configuration change retires counters);
 * an Encap/Decap that goes away (SA removed, tables rebuilt) flushes itself. Sequence numbers and the
 * anti-replay window are still written back at the end of every batch: the general path uses them. */

/* sa.last_used = max(sa.last_used, now): the general path may have stamped a later time meanwhile. */
static int
stamp_last_used(PyObject *sa, PyObject *now)
{
    PyObject *current = get_attr(sa, S.last_used);
    if (current == NULL) {
        return -1;
    }
    int later = current == Py_None ? 1 : PyObject_RichCompareBool(now, current, Py_GT);
    Py_DECREF(current);
    if (later < 0) {
        return -1;
    }
    return later ? set_attr(sa, S.last_used, now) : 0;
}

static int
encap_flush(PyObject *op)
{
    Encap *e = (Encap *)op;
    e->listed = 0;
    unsigned long long packets = e->pend_packets, inner = e->pend_inner, outer = e->pend_outer;
    PyObject *used = e->pend_used;
    e->pend_packets = e->pend_inner = e->pend_outer = 0; /* cleared first: never counted twice */
    e->pend_used = NULL;
    Stash stash = {NULL, NULL, NULL};
    if (packets) {
        KEEP(&stash, add_attr(e->st0, S.output_packets, packets));
        KEEP(&stash, add_attr(e->st0, S.output_bytes, inner));
        KEEP(&stash, add_attr(e->tunnel, S.esp_encrypted_packets, packets));
        KEEP(&stash, add_attr(e->tunnel, S.esp_encrypted_bytes, outer));
    }
    if (used != NULL) {
        KEEP(&stash, stamp_last_used(e->sa, used));
        Py_DECREF(used);
    }
    return stash_restore(&stash);
}

static int
decap_flush(PyObject *op)
{
    Decap *d = (Decap *)op;
    d->listed = 0;
    unsigned long long packets = d->pend_packets, inner = d->pend_inner;
    PyObject *used = d->pend_used;
    d->pend_packets = d->pend_inner = 0;
    d->pend_used = NULL;
    Stash stash = {NULL, NULL, NULL};
    if (packets) {
        KEEP(&stash, add_attr(d->tunnel, S.esp_decrypted_packets, packets));
        KEEP(&stash, add_attr(d->tunnel, S.esp_decrypted_bytes, inner));
        KEEP(&stash, add_attr(d->st0, S.input_packets, packets));
        KEEP(&stash, add_attr(d->st0, S.input_bytes, inner));
    }
    if (used != NULL) {
        KEEP(&stash, stamp_last_used(d->sa, used));
        Py_DECREF(used);
    }
    return stash_restore(&stash);
}

/* A dying Encap/Decap writes back what it still holds (with any exception in flight kept aside). */
static void
flush_on_dealloc(PyObject *op, int (*flush)(PyObject *))
{
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    if (flush(op) < 0) {
        PyErr_WriteUnraisable(op);
    }
    PyErr_Restore(type, value, traceback);
}

/* Put an Encap/Decap that just got deferred counters on FastTables._dirty (once until its next flush), so
 * that a flush costs what was deferred, not one call per SA of the PFE. */
static int
list_dirty(PyObject *dirty, PyObject *native, int *listed)
{
    if (*listed) {
        return 0;
    }
    if (PyList_Append(dirty, native) < 0) {
        return -1;
    }
    *listed = 1;
    return 0;
}

/* ----------------------------------------------------------------------------------- DestCache */
/* Direct-mapped caches of FastTables' decisions keyed by a 32-bit value: per destination address
 * (tunnel_by_dst, forward_by_dst) and per SPI (inbound, inbound_udp; None cached for "no fast SA"). They
 * save building a bytes key, hashing it and a dictionary lookup per packet, which with 2000 tunnels (a
 * different destination and SPI for every packet) was most of the classification. They only mirror the
 * dictionaries: FastTables clears the cache whenever it clears or changes any of them. Filled slots are
 * listed, so that clearing (on every SA install) costs what was cached, not the table size. */
#define CACHE_BITS 12
#define CACHE_SIZE (1 << CACHE_BITS)
enum { TABLE_TUNNEL, TABLE_FORWARD, TABLE_SPI, TABLE_SPI_UDP, TABLES };

typedef struct {
    uint32_t key;
    PyObject *decision; /* FastOut / FastForward / FastIn / False / None (strong), NULL: empty */
} DestEntry;

typedef struct {
    PyObject_HEAD
    DestEntry slots[TABLES][CACHE_SIZE];
    uint32_t used[TABLES * CACHE_SIZE]; /* positions of the filled slots (table * CACHE_SIZE + index) */
    Py_ssize_t nused;
} DestCache;

static inline DestEntry *
dest_slot(DestCache *cache, int table, uint32_t key)
{
    return &cache->slots[table][(uint32_t)(key * 2654435761u) >> (32 - CACHE_BITS)];
}

static int
DestCache_clear(PyObject *op)
{
    DestCache *self = (DestCache *)op;
    DestEntry *all = &self->slots[0][0];
    for (Py_ssize_t i = 0; i < self->nused; i++) {
        Py_CLEAR(all[self->used[i]].decision);
    }
    self->nused = 0;
    return 0;
}

static int
DestCache_traverse(PyObject *op, visitproc visit, void *arg)
{
    DestCache *self = (DestCache *)op;
    DestEntry *all = &self->slots[0][0];
    for (Py_ssize_t i = 0; i < self->nused; i++) {
        Py_VISIT(all[self->used[i]].decision);
    }
    return 0;
}

static void
DestCache_dealloc(PyObject *op)
{
    PyObject_GC_UnTrack(op);
    DestCache_clear(op);
    Py_TYPE(op)->tp_free(op);
}

static PyObject *
DestCache_clear_method(PyObject *op, PyObject *unused)
{
    (void)unused;
    DestCache_clear(op);
    Py_RETURN_NONE;
}

static PyObject *
DestCache_len(PyObject *op, PyObject *unused)
{
    (void)unused;
    return PyLong_FromSsize_t(((DestCache *)op)->nused);
}

static PyMethodDef DestCache_methods[] = {
    {"clear", DestCache_clear_method, METH_NOARGS, "Forget every cached decision."},
    {"filled", DestCache_len, METH_NOARGS, "How many decisions are cached (for tests)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject DestCacheType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "netconf_device.pfe._espfast.DestCache",
    .tp_basicsize = sizeof(DestCache),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = DestCache_dealloc,
    .tp_traverse = DestCache_traverse,
    .tp_clear = DestCache_clear,
    .tp_methods = DestCache_methods,
    .tp_doc = "Fast-path decisions by IPv4 address and by SPI (owned by fastpath.FastTables).",
};

static void
dest_store(DestCache *cache, DestEntry *entry, uint32_t key, PyObject *decision)
{
    if (entry->decision == NULL) {
        cache->used[cache->nused++] = (uint32_t)(entry - &cache->slots[0][0]);
    }
    Py_XSETREF(entry->decision, Py_NewRef(decision));
    entry->key = key;
}

/* The cached decision for `key` in `table` (borrowed), or NULL when not cached. */
static inline PyObject *
dest_get(DestEntry *entry, uint32_t key)
{
    return entry != NULL && entry->decision != NULL && entry->key == key ? entry->decision : NULL;
}

/* table[key]: the FastIn for an SPI (borrowed; NULL with no exception when there is none), through the
 * cache. `raw` points at the SPI's 4 bytes (the dictionaries' key). */
static PyObject *
spi_lookup(DestCache *cache, int table, PyObject *dict, const uint8_t *raw, uint32_t spi)
{
    DestEntry *entry = cache ? dest_slot(cache, table, spi) : NULL;
    PyObject *found = dest_get(entry, spi);
    if (found != NULL) {
        return found == Py_None ? NULL : found;
    }
    PyObject *key = PyBytes_FromStringAndSize((const char *)raw, 4);
    if (key == NULL) {
        return NULL;
    }
    found = PyDict_GetItemWithError(dict, key);
    Py_DECREF(key);
    if (found == NULL && PyErr_Occurred()) {
        return NULL;
    }
    if (entry != NULL) {
        dest_store(cache, entry, spi, found ? found : Py_None);
    }
    return found;
}

/* ----------------------------------------------------------------------------------- the batch */
enum { KIND_ENCAP = 1, KIND_DECAP = 2 };

#define PENDING_SLOTS 16

typedef struct {
    PyObject *obj; /* strong */
    PyObject *name;
    unsigned long long delta;
} PendingAdd;

typedef struct {
    PyObject *fast;   /* FastOut / FastIn (strong) */
    PyObject *native; /* Encap / Decap (strong) */
    int kind;
    Py_ssize_t head, tail, count; /* entries of this group, linked through Batch.next */
} Group;

typedef struct {
    PyObject *tables, *dp, *now, *out, *slow, *diverted;
    PyObject *ingress, *tunnel_by_dst, *own4, *inbound, *inbound_udp, *forward_by_dst;
    PyObject *dirty; /* FastTables._dirty: the Encap/Decap objects holding deferred counters */
    DestCache *cache; /* NULL: none */
    Py_ssize_t n;
    PyObject **items; /* strong references to the (interface, packet) tuples */
    Py_ssize_t *next;
    Group *groups;
    Py_ssize_t ngroups;
    Py_ssize_t *map; /* open addressing: group index + 1 by FastOut/FastIn identity; 0 = empty */
    size_t map_mask;
    uint8_t *scratch; /* encapsulation plaintext */
    size_t scratch_size;
    Window *w_nonce, *w_data, *w_aad, *w_out;
    uint8_t nonce[12];
    uint8_t aad[12];
    Py_ssize_t done;
    PendingAdd pending[PENDING_SLOTS];
    int npending;
} Batch;

/* Add to a counter shared by many groups of the batch (the WAN interface, a LAN egress): summed here and
 * applied once at the end of the batch, so that 2000 one-packet groups do not touch it 2000 times. */
static int
pending_add(Batch *b, PyObject *obj, PyObject *name, unsigned long long delta)
{
    if (delta == 0) {
        return 0;
    }
    for (int i = 0; i < b->npending; i++) {
        PendingAdd *p = &b->pending[i];
        if (p->obj == obj && p->name == name) {
            p->delta += delta;
            return 0;
        }
    }
    if (b->npending == PENDING_SLOTS) {
        return add_attr(obj, name, delta);
    }
    PendingAdd *p = &b->pending[b->npending++];
    p->obj = Py_NewRef(obj);
    p->name = name;
    p->delta = delta;
    return 0;
}

/* Apply the pending additions (also after an error, which is kept). */
static int
pending_flush(Batch *b)
{
    Stash stash = {NULL, NULL, NULL};
    stash_error(&stash);
    for (int i = 0; i < b->npending; i++) {
        PendingAdd *p = &b->pending[i];
        KEEP(&stash, add_attr(p->obj, p->name, p->delta));
        Py_DECREF(p->obj);
    }
    b->npending = 0;
    return stash_restore(&stash);
}

static size_t
pointer_hash(const void *p)
{
    uintptr_t v = (uintptr_t)p >> 4;
    return (size_t)(v * 0x9E3779B97F4A7C15ULL >> 16);
}

/* The group of `fast`, or -1 (after setting *slot to where it would go). */
static Py_ssize_t
group_find(Batch *b, PyObject *fast, size_t *slot)
{
    size_t i = pointer_hash(fast) & b->map_mask;
    while (b->map[i]) {
        Py_ssize_t g = b->map[i] - 1;
        if (b->groups[g].fast == fast) {
            return g;
        }
        i = (i + 1) & b->map_mask;
    }
    *slot = i;
    return -1;
}

/* fast.native, checked to be the C object this kind of group needs (new reference). */
static PyObject *
native_of(PyObject *fast, int kind)
{
    PyObject *native = get_attr(fast, S.native);
    if (native == NULL) {
        return NULL;
    }
    PyTypeObject *want = kind == KIND_ENCAP ? &EncapType : &DecapType;
    if (!PyObject_TypeCheck(native, want)) {
        PyErr_Format(PyExc_TypeError, "fast-path decision without a native %s", want->tp_name);
        Py_DECREF(native);
        return NULL;
    }
    return native;
}

static Py_ssize_t
group_add(Batch *b, PyObject *fast, PyObject *native, int kind, size_t slot)
{
    Py_ssize_t g = b->ngroups++;
    Group *group = &b->groups[g];
    group->fast = Py_NewRef(fast);
    group->native = native; /* reference passed in */
    group->kind = kind;
    group->head = group->tail = -1;
    group->count = 0;
    b->map[slot] = g + 1;
    return g;
}

static void
group_push(Batch *b, Py_ssize_t g, Py_ssize_t entry)
{
    Group *group = &b->groups[g];
    b->next[entry] = -1;
    if (group->tail < 0) {
        group->head = entry;
    }
    else {
        b->next[group->tail] = entry;
    }
    group->tail = entry;
    group->count++;
}

static inline const uint8_t *
packet_of(Batch *b, Py_ssize_t entry, Py_ssize_t *length)
{
    PyObject *packet = PyTuple_GET_ITEM(b->items[entry], 1);
    *length = PyBytes_GET_SIZE(packet);
    return (const uint8_t *)PyBytes_AS_STRING(packet);
}

/* Call an AESGCM *_into method with the four windows; -1 with an exception, 0 on InvalidTag (when
 * `tag_ok` is non-NULL it receives 0), 1 on success. */
static int
aead_call(Batch *b, PyObject *method, int *tag_ok)
{
    PyObject *args[4] = {(PyObject *)b->w_nonce, (PyObject *)b->w_data, (PyObject *)b->w_aad, (PyObject *)b->w_out};
    PyObject *result = PyObject_Vectorcall(method, args, 4, NULL);
    if (result != NULL) {
        Py_DECREF(result);
        if (tag_ok) {
            *tag_ok = 1;
        }
        return 1;
    }
    if (tag_ok && PyErr_ExceptionMatches(S.invalid_tag)) {
        PyErr_Clear();
        *tag_ok = 0;
        return 0;
    }
    return -1;
}

static int
ensure_scratch(Batch *b, size_t size)
{
    if (size <= b->scratch_size) {
        return 0;
    }
    uint8_t *fresh = PyMem_Realloc(b->scratch, size);
    if (fresh == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->scratch = fresh;
    b->scratch_size = size;
    return 0;
}

/* ----------------------------------------------------------------------------------- encapsulation */
static int
encap_group(Batch *b, Group *group)
{
    Encap *e = (Encap *)group->native;
    uint64_t seq, soft = e->seq_soft;
    if (get_u64_attr(e->sa, S.seq, &seq) < 0) {
        return -1;
    }
    if (seq >= soft || (uint64_t)group->count >= soft - seq) {
        /* Near the sequence limit: the general path allocates and asks for a rekey. */
        for (Py_ssize_t i = group->head; i >= 0; i = b->next[i]) {
            if (PyList_Append(b->diverted, b->items[i]) < 0) {
                return -1;
            }
        }
        return 0;
    }
    const uint64_t first = seq;
    const Py_ssize_t outer_header = e->sport ? 28 : 20;
    unsigned long long sent = 0, inner_bytes = 0, outer_bytes = 0;
    int rc = 0;
    for (Py_ssize_t i = group->head; i >= 0; i = b->next[i]) {
        Py_ssize_t n;
        const uint8_t *p = packet_of(b, i, &n); /* n >= 20 and p[0] == 0x45: checked by the classifier */
        Py_ssize_t pad = (2 - n) & 3;
        Py_ssize_t plain = n + pad + 2;
        Py_ssize_t total = outer_header + 16 + plain + ICV_LENGTH;
        if ((Py_ssize_t)rd16(p + 2) != n || n > e->max_inner || p[8] <= 1 || !header_ok(p) || total > 0xFFFF) {
            if (PyList_Append(b->diverted, b->items[i]) < 0) {
                rc = -1;
                break;
            }
            continue; /* malformed, expiring or too big: the general path decides */
        }
        seq++;
        int df = e->df_mode == 0 ? (p[6] & 0x40) != 0 : e->df_mode == 1;
        PyObject *packet = PyBytes_FromStringAndSize(NULL, total);
        if (packet == NULL) {
            rc = -1;
            break;
        }
        uint8_t *o = (uint8_t *)PyBytes_AS_STRING(packet);
        /* Outer IPv4 header: DSCP/ECN copied; DF packets carry ID 0 (RFC 6864), others the low 16 bits
         * of the sequence number. */
        o[0] = 0x45;
        o[1] = p[1];
        wr16(o + 2, (unsigned)total);
        wr16(o + 4, df ? 0 : (unsigned)(seq & 0xFFFF));
        wr16(o + 6, df ? 0x4000 : 0);
        o[8] = OUTER_TTL;
        o[9] = e->sport ? PROTO_UDP : PROTO_ESP;
        o[10] = o[11] = 0;
        memcpy(o + 12, e->local, 4);
        memcpy(o + 16, e->remote, 4);
        wr16(o + 10, header_checksum(o));
        if (e->sport) { /* RFC 3948: zero UDP checksum */
            wr16(o + 20, e->sport);
            wr16(o + 22, e->dport);
            wr16(o + 24, (unsigned)(total - 20));
            wr16(o + 26, 0);
        }
        uint8_t *esp = o + outer_header;
        wr32(esp, e->spi);
        wr32(esp + 4, (uint32_t)seq);
        wr64(esp + 8, seq); /* IV = the 64-bit sequence counter */
        /* Plaintext: the inner packet with TTL - 1, then padding 1, 2, .., pad length, next header. */
        if (ensure_scratch(b, (size_t)plain) < 0) {
            Py_DECREF(packet);
            rc = -1;
            break;
        }
        uint8_t *pt = b->scratch;
        memcpy(pt, p, 8);
        pt[8] = (uint8_t)(p[8] - 1);
        pt[9] = p[9];
        wr16(pt + 10, checksum_after_ttl(rd16(p + 10)));
        memcpy(pt + 12, p + 12, (size_t)(n - 12));
        for (Py_ssize_t k = 0; k < pad; k++) {
            pt[n + k] = (uint8_t)(k + 1);
        }
        pt[n + pad] = (uint8_t)pad;
        pt[n + pad + 1] = NEXT_HEADER_IPV4;
        memcpy(b->nonce, e->salt, 4);
        memcpy(b->nonce + 4, esp + 8, 8);
        Py_ssize_t aad_len = 8;
        if (e->esn) { /* RFC 4106 5: SPI | seq high | seq low */
            wr32(b->aad, e->spi);
            wr32(b->aad + 4, (uint32_t)(seq >> 32));
            wr32(b->aad + 8, (uint32_t)seq);
            aad_len = 12;
        }
        else {
            memcpy(b->aad, esp, 8);
        }
        if (window_point(&b->w_nonce, b->nonce, 12) < 0 || window_point(&b->w_aad, b->aad, aad_len) < 0
            || window_point(&b->w_data, pt, plain) < 0
            || window_point(&b->w_out, esp + 16, plain + ICV_LENGTH) < 0
            || aead_call(b, e->encrypt_into, NULL) < 0) {
            Py_DECREF(packet);
            rc = -1; /* the sequence number stays consumed: never reuse a nonce */
            break;
        }
        int appended = append_pair(b->out, e->egress, packet);
        Py_DECREF(packet);
        if (appended < 0) {
            rc = -1;
            break;
        }
        sent++;
        inner_bytes += (unsigned long long)n;
        outer_bytes += (unsigned long long)total;
    }
    /* Written back even after an error, so that a sequence number is never used twice. */
    Stash stash = {NULL, NULL, NULL};
    stash_error(&stash);
    if (seq != first) {
        KEEP(&stash, set_u64_attr(e->sa, S.seq, seq));
    }
    if (sent) {
        b->done += (Py_ssize_t)sent;
        e->pend_packets += sent; /* the SA's own counters: deferred (see "Deferred counters") */
        e->pend_inner += inner_bytes;
        e->pend_outer += outer_bytes;
        Py_XSETREF(e->pend_used, Py_NewRef(b->now));
        KEEP(&stash, list_dirty(b->dirty, (PyObject *)e, &e->listed));
        KEEP(&stash, pending_add(b, e->wan, S.output_packets, sent));
        KEEP(&stash, pending_add(b, e->wan, S.output_bytes, outer_bytes));
    }
    (void)rc; /* an error in the loop is in the stash */
    return stash_restore(&stash);
}

/* ----------------------------------------------------------------------------------- anti-replay */
/* The window as words of 64 bits, bit i = "top - i was received" (replay.ReplayWindow.bitmap). */
typedef struct {
    uint64_t *words;
    Py_ssize_t nwords;
    Py_ssize_t size;
    uint64_t one_word; /* storage when nwords == 1 */
} Bitmap;

static int
bitmap_load(Bitmap *bm, PyObject *value, Py_ssize_t size)
{
    bm->size = size;
    bm->nwords = size > 64 ? (size + 63) / 64 : 1;
    if (bm->nwords == 1) {
        bm->words = &bm->one_word;
        unsigned long long v = PyLong_AsUnsignedLongLong(value);
        if (v == (unsigned long long)-1 && PyErr_Occurred()) {
            return -1;
        }
        bm->one_word = v;
        return 0;
    }
    bm->words = PyMem_Calloc((size_t)bm->nwords, sizeof(uint64_t));
    if (bm->words == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    PyObject *length = PyLong_FromSsize_t(bm->nwords * 8);
    if (length == NULL) {
        return -1;
    }
    PyObject *raw = PyObject_CallMethodObjArgs(value, S.to_bytes, length, S.little, NULL);
    Py_DECREF(length);
    if (raw == NULL) {
        return -1;
    }
    if (!PyBytes_Check(raw) || PyBytes_GET_SIZE(raw) != bm->nwords * 8) {
        Py_DECREF(raw);
        PyErr_SetString(PyExc_TypeError, "replay bitmap must be an int");
        return -1;
    }
    const uint8_t *bytes = (const uint8_t *)PyBytes_AS_STRING(raw);
    for (Py_ssize_t w = 0; w < bm->nwords; w++) {
        uint64_t v = 0;
        for (int k = 7; k >= 0; k--) {
            v = (v << 8) | bytes[w * 8 + k];
        }
        bm->words[w] = v;
    }
    Py_DECREF(raw);
    return 0;
}

static PyObject *
bitmap_value(Bitmap *bm)
{
    if (bm->nwords == 1) {
        return PyLong_FromUnsignedLongLong(bm->one_word);
    }
    PyObject *raw = PyBytes_FromStringAndSize(NULL, bm->nwords * 8);
    if (raw == NULL) {
        return NULL;
    }
    uint8_t *bytes = (uint8_t *)PyBytes_AS_STRING(raw);
    for (Py_ssize_t w = 0; w < bm->nwords; w++) {
        for (int k = 0; k < 8; k++) {
            bytes[w * 8 + k] = (uint8_t)(bm->words[w] >> (8 * k));
        }
    }
    PyObject *value = PyObject_CallMethodObjArgs((PyObject *)&PyLong_Type, S.from_bytes, raw, S.little, NULL);
    Py_DECREF(raw);
    return value;
}

static void
bitmap_free(Bitmap *bm)
{
    if (bm->words != NULL && bm->words != &bm->one_word) {
        PyMem_Free(bm->words);
    }
    bm->words = NULL;
}

static inline int
bitmap_test(const Bitmap *bm, uint64_t bit)
{
    return (int)((bm->words[bit >> 6] >> (bit & 63)) & 1);
}

static inline void
bitmap_set(Bitmap *bm, uint64_t bit)
{
    bm->words[bit >> 6] |= 1ULL << (bit & 63);
}

/* bitmap = ((bitmap << shift) | 1) & mask if shift < size else 1   (replay.ReplayWindow.update) */
static void
bitmap_advance(Bitmap *bm, uint64_t shift)
{
    if (shift >= (uint64_t)bm->size) {
        memset(bm->words, 0, (size_t)bm->nwords * sizeof(uint64_t));
        bm->words[0] = 1;
        return;
    }
    Py_ssize_t word_shift = (Py_ssize_t)(shift >> 6);
    unsigned bit_shift = (unsigned)(shift & 63);
    for (Py_ssize_t w = bm->nwords - 1; w >= 0; w--) {
        Py_ssize_t src = w - word_shift;
        uint64_t v = 0;
        if (src >= 0) {
            v = bm->words[src] << bit_shift;
            if (bit_shift && src >= 1) {
                v |= bm->words[src - 1] >> (64 - bit_shift);
            }
        }
        bm->words[w] = v;
    }
    bm->words[0] |= 1;
    if (bm->size % 64) {
        bm->words[bm->nwords - 1] &= (1ULL << (bm->size % 64)) - 1;
    }
}

/* RFC 4303 A2.2: the full sequence number of a packet carrying seq_low (replay.ReplayWindow.infer). */
static uint64_t
infer_sequence(uint64_t top, uint32_t seq_low, Py_ssize_t size)
{
    uint64_t window = size ? (uint64_t)size : ESN_INFERENCE_WINDOW;
    uint64_t top_high = top >> 32, top_low = top & 0xFFFFFFFFULL;
    uint64_t bottom = (top_low - window + 1) & 0xFFFFFFFFULL;
    uint64_t high;
    if (top_low >= window - 1) {
        high = seq_low >= bottom ? top_high : top_high + 1;
    }
    else if (seq_low >= bottom) {
        high = top_high ? top_high - 1 : 0;
    }
    else {
        high = top_high;
    }
    if (high > 0xFFFFFFFFULL) {
        high = 0xFFFFFFFFULL;
    }
    return high << 32 | seq_low;
}

/* ----------------------------------------------------------------------------------- decapsulation */
typedef struct {
    PyObject *forward; /* strong */
    PyObject *egress;  /* strong */
    Py_ssize_t mtu;
    PyObject *counted_for; /* the forward whose output counters are being summed (strong) */
    unsigned long long packets, bytes;
    uint32_t last_dst; /* the last inner destination looked up and its decision (strong) */
    PyObject *last_decision;
} ForwardState;

static int
forward_flush(Batch *b, ForwardState *fs)
{
    int rc = 0;
    if (fs->counted_for != NULL && (fs->packets || fs->bytes)) {
        PyObject *counters = get_attr(fs->counted_for, S.counters);
        if (counters == NULL || pending_add(b, counters, S.output_packets, fs->packets) < 0
            || pending_add(b, counters, S.output_bytes, fs->bytes) < 0) {
            rc = -1;
        }
        Py_XDECREF(counters);
    }
    fs->packets = fs->bytes = 0;
    return rc;
}

/* The FastForward for an inner destination (new reference), or Py_False. */
static PyObject *
forward_for(Batch *b, ForwardState *fs, const uint8_t *dst)
{
    uint32_t address = rd32(dst);
    if (fs->last_decision != NULL && address == fs->last_dst) {
        return Py_NewRef(fs->last_decision); /* consecutive packets of a flow: no dictionary lookup */
    }
    DestEntry *entry = b->cache ? dest_slot(b->cache, TABLE_FORWARD, address) : NULL;
    PyObject *cached = dest_get(entry, address);
    if (cached != NULL) {
        Py_XSETREF(fs->last_decision, Py_NewRef(cached));
        fs->last_dst = address;
        return Py_NewRef(cached);
    }
    PyObject *key = PyBytes_FromStringAndSize((const char *)dst, 4);
    if (key == NULL) {
        return NULL;
    }
    PyObject *forward = PyDict_GetItemWithError(b->forward_by_dst, key);
    if (forward != NULL) {
        Py_INCREF(forward);
    }
    else if (!PyErr_Occurred()) {
        forward = PyObject_CallMethodObjArgs(b->tables, S.forward_decision, b->dp, key, NULL);
    }
    Py_DECREF(key);
    if (forward != NULL) {
        Py_XSETREF(fs->last_decision, Py_NewRef(forward));
        fs->last_dst = address;
        if (entry != NULL) {
            dest_store(b->cache, entry, address, forward);
        }
    }
    return forward;
}

static int
general_add(PyObject **general, PyObject *outer, PyObject *data, int counted)
{
    if (*general == NULL && (*general = PyList_New(0)) == NULL) {
        return -1;
    }
    PyObject *entry = PyTuple_Pack(3, outer, data, counted ? Py_True : Py_False);
    if (entry == NULL) {
        return -1;
    }
    int rc = PyList_Append(*general, entry);
    Py_DECREF(entry);
    return rc;
}

static int
decap_group(Batch *b, Group *group)
{
    Decap *d = (Decap *)group->native;
    const Py_ssize_t off = d->offset;
    const Py_ssize_t minimum = off + 54; /* ESP header, IV, a 20-byte inner header, trailer, ICV */
    const Py_ssize_t aligned = off + 32;
    const Py_ssize_t size = d->window;
    uint64_t top;
    Bitmap bm = {NULL, 0, 0, 0};
    PyObject *general = NULL;
    ForwardState fs = {NULL, NULL, 0, NULL, 0, 0, 0, NULL};
    unsigned long long received = 0, inner_bytes = 0, replays = 0, forgeries = 0;
    int rc = 0;
    {
        PyObject *bitmap = get_attr(d->replay, S.bitmap);
        if (bitmap == NULL) {
            return -1;
        }
        int ok = get_u64_attr(d->replay, S.top, &top) == 0 && bitmap_load(&bm, bitmap, size) == 0;
        Py_DECREF(bitmap);
        if (!ok) {
            bitmap_free(&bm);
            return -1;
        }
    }
    for (Py_ssize_t i = group->head; i >= 0; i = b->next[i]) {
        Py_ssize_t length;
        const uint8_t *p = packet_of(b, i, &length);
        PyObject *outer = PyTuple_GET_ITEM(b->items[i], 1);
        if (length < minimum || (Py_ssize_t)rd16(p + 2) != length || rd16(p + 6) & 0x3FFF
            || (length - aligned) & 3 || !header_ok(p)) {
            if (PyList_Append(b->diverted, b->items[i]) < 0) {
                rc = -1;
                break;
            }
            continue; /* malformed, a fragment or odd: the general path counts it */
        }
        unsigned tos = p[1];
        uint32_t seq_low = rd32(p + off + 4);
        uint64_t seq = seq_low;
        Py_ssize_t aad_len = 8;
        if (d->esn) {
            seq = infer_sequence(top, seq_low, size);
            wr32(b->aad, d->spi);
            wr32(b->aad + 4, (uint32_t)(seq >> 32));
            wr32(b->aad + 8, seq_low);
            aad_len = 12;
        }
        else {
            memcpy(b->aad, p + off, 8);
        }
        if (size && seq <= top && (seq == 0 || top - seq >= (uint64_t)size || bitmap_test(&bm, top - seq))) {
            replays++;
            continue;
        }
        Py_ssize_t cipher = length - off - 16;
        Py_ssize_t plain_len = cipher - ICV_LENGTH; /* >= 22, from `minimum` */
        PyObject *plain = PyBytes_FromStringAndSize(NULL, plain_len);
        if (plain == NULL) {
            rc = -1;
            break;
        }
        memcpy(b->nonce, d->salt, 4);
        memcpy(b->nonce + 4, p + off + 8, 8);
        int tag_ok = 0;
        if (window_point(&b->w_nonce, b->nonce, 12) < 0 || window_point(&b->w_aad, b->aad, aad_len) < 0
            || window_point(&b->w_data, (void *)(p + off + 16), cipher) < 0
            || window_point(&b->w_out, PyBytes_AS_STRING(plain), plain_len) < 0
            || aead_call(b, d->decrypt_into, &tag_ok) < 0) {
            Py_DECREF(plain);
            rc = -1;
            break;
        }
        if (!tag_ok) {
            Py_DECREF(plain);
            forgeries++;
            continue;
        }
        /* Authenticated: the window moves even if the content turns out to be unusable. */
        if (seq > top) {
            bitmap_advance(&bm, seq - top);
            top = seq;
        }
        else if (size) {
            bitmap_set(&bm, top - seq);
        }
        uint8_t *q = (uint8_t *)PyBytes_AS_STRING(plain);
        Py_ssize_t end = plain_len - 2;
        Py_ssize_t pad = q[end];
        Py_ssize_t total = (Py_ssize_t)rd16(q + 2);
        int trailer_ok = q[end + 1] == NEXT_HEADER_IPV4 && q[0] == 0x45 && total >= 20 && total <= end - pad;
        for (Py_ssize_t k = 0; trailer_ok && k < pad; k++) {
            trailer_ok = q[end - pad + k] == (uint8_t)(k + 1);
        }
        if (!trailer_ok) {
            /* IPv6 inside, TFC dummy, header options, bad padding...: the general path parses it. */
            rc = general_add(&general, outer, plain, 0);
            Py_DECREF(plain);
            if (rc < 0) {
                break;
            }
            continue;
        }
        received++;
        inner_bytes += (unsigned long long)total;
        if (total != plain_len && _PyBytes_Resize(&plain, total) < 0) {
            rc = -1; /* plain was released by _PyBytes_Resize */
            break;
        }
        q = (uint8_t *)PyBytes_AS_STRING(plain);
        unsigned ttl = q[8];
        int fast = header_ok(q) && ttl > 1 && (tos & 3) != 3;
        if (fast) {
            PyObject *forward = forward_for(b, &fs, q + 16);
            if (forward == NULL) {
                Py_DECREF(plain);
                rc = -1;
                break;
            }
            if (forward != fs.forward) {
                int truth = forward == Py_False ? 0 : PyObject_IsTrue(forward);
                PyObject *egress = NULL, *mtu = NULL;
                Py_ssize_t mtu_value = -1;
                if (truth > 0) {
                    egress = PyObject_GetAttr(forward, S.egress);
                    mtu = egress ? PyObject_GetAttr(forward, S.mtu) : NULL;
                    mtu_value = mtu ? PyLong_AsSsize_t(mtu) : -1;
                }
                Py_XDECREF(mtu);
                if (truth < 0 || (truth > 0 && (egress == NULL || (mtu_value == -1 && PyErr_Occurred())))) {
                    Py_XDECREF(egress);
                    Py_DECREF(forward);
                    Py_DECREF(plain);
                    rc = -1;
                    break;
                }
                Py_XSETREF(fs.forward, Py_NewRef(forward));
                Py_XSETREF(fs.egress, egress);
                fs.mtu = truth > 0 ? mtu_value : -1;
            }
            Py_DECREF(forward);
            fast = fs.egress != NULL && total <= fs.mtu;
        }
        if (!fast) {
            /* Not forwarded here (no plain route, TTL, MTU, outer CE mark, bad inner checksum): the general
             * path takes the inner packet, already counted as decrypted. */
            rc = general_add(&general, outer, plain, 1);
            Py_DECREF(plain);
            if (rc < 0) {
                break;
            }
            continue;
        }
        q[8] = (uint8_t)(ttl - 1);
        wr16(q + 10, checksum_after_ttl(rd16(q + 10)));
        int appended = append_pair(b->out, fs.egress, plain);
        Py_DECREF(plain);
        if (appended < 0) {
            rc = -1;
            break;
        }
        if (fs.counted_for != fs.forward) {
            if (forward_flush(b, &fs) < 0) {
                rc = -1;
                break;
            }
            Py_XSETREF(fs.counted_for, Py_NewRef(fs.forward));
        }
        fs.packets++;
        fs.bytes += (unsigned long long)total;
        b->done++;
    }
    /* Write back what happened, also after an error: authenticated sequence numbers stay recorded. */
    Stash stash = {NULL, NULL, NULL};
    stash_error(&stash);
    PyObject *bitmap = bitmap_value(&bm);
    if (bitmap == NULL) {
        stash_error(&stash);
    }
    else {
        KEEP(&stash, set_u64_attr(d->replay, S.top, top));
        KEEP(&stash, set_attr(d->replay, S.bitmap, bitmap));
        Py_DECREF(bitmap);
    }
    bitmap_free(&bm);
    KEEP(&stash, forward_flush(b, &fs));
    KEEP(&stash, add_attr(d->tunnel, S.replay_errors, replays));
    KEEP(&stash, add_attr(d->tunnel, S.esp_authentication_failures, forgeries));
    KEEP(&stash, add_attr(d->tunnel, S.discard_errors, replays + forgeries));
    if (received) {
        d->pend_packets += received; /* deferred (see "Deferred counters") */
        d->pend_inner += inner_bytes;
        Py_XSETREF(d->pend_used, Py_NewRef(b->now));
        KEEP(&stash, list_dirty(b->dirty, (PyObject *)d, &d->listed));
    }
    Py_XDECREF(fs.forward);
    Py_XDECREF(fs.egress);
    Py_XDECREF(fs.counted_for);
    Py_XDECREF(fs.last_decision);
    (void)rc; /* an error in the loop is in the stash */
    if (stash_restore(&stash) < 0) {
        Py_XDECREF(general);
        return -1;
    }
    if (general != NULL) {
        PyObject *result = PyObject_CallMethodObjArgs(b->tables, S.finish_decap, b->dp, group->fast, general,
                                                      b->now, b->out, NULL);
        Py_DECREF(general);
        if (result == NULL) {
            return -1;
        }
        Py_DECREF(result);
    }
    return 0;
}

/* ----------------------------------------------------------------------------------- classification */
/* The last destination and SPI looked up: consecutive packets of a flow or tunnel skip the dictionaries.
 * Decisions depend only on the tables, which do not change during a batch, so this is only a cache. */
typedef struct {
    int have_dst;
    uint32_t dst;
    PyObject *dst_key;  /* the destination as the tables' key (strong) */
    PyObject *decision; /* FastOut or False (strong) */
    int truth;
    int own; /* -1: not looked up yet */
    int have_spi;
    uint32_t spi;
    PyObject *spi_fast; /* FastIn or NULL (strong) */
} Lookup;

static void
lookup_clear(Lookup *lk)
{
    Py_CLEAR(lk->dst_key);
    Py_CLEAR(lk->decision);
    Py_CLEAR(lk->spi_fast);
    lk->have_dst = lk->have_spi = 0;
}

/* Which fast path a packet (IPv4, IHL 5, at least 20 bytes) takes: *fast receives the FastOut (kind
 * ENCAP) or FastIn (kind DECAP, *udp set for ESP in UDP), borrowed from `lk`/the tables, or NULL for the
 * general path. Mirrors FastTables.run. */
static int
classify_one(Batch *b, Lookup *lk, const uint8_t *p, Py_ssize_t length, PyObject **fast, int *kind, int *udp)
{
    *fast = NULL;
    *udp = 0;
    uint32_t dst = rd32(p + 16);
    if (!lk->have_dst || dst != lk->dst) {
        lk->have_dst = 0;
        Py_CLEAR(lk->decision);
        Py_CLEAR(lk->dst_key); /* built only when a dictionary needs it */
        DestEntry *entry = b->cache ? dest_slot(b->cache, TABLE_TUNNEL, dst) : NULL;
        PyObject *decision = dest_get(entry, dst);
        if (decision != NULL) {
            Py_INCREF(decision);
        }
        else {
            if ((lk->dst_key = PyBytes_FromStringAndSize((const char *)p + 16, 4)) == NULL) {
                return -1;
            }
            decision = PyDict_GetItemWithError(b->tunnel_by_dst, lk->dst_key);
            if (decision != NULL) {
                Py_INCREF(decision);
            }
            else if (PyErr_Occurred()
                     || (decision = PyObject_CallMethodObjArgs(b->tables, S.tunnel_decision, b->dp,
                                                               lk->dst_key, NULL)) == NULL) {
                return -1;
            }
            if (entry != NULL) {
                dest_store(b->cache, entry, dst, decision);
            }
        }
        lk->decision = decision;
        lk->truth = decision == Py_False ? 0 : PyObject_IsTrue(decision);
        if (lk->truth < 0) {
            return -1;
        }
        lk->own = -1;
        lk->dst = dst;
        lk->have_dst = 1;
    }
    if (lk->truth) {
        *kind = KIND_ENCAP;
        *fast = lk->decision;
        return 0;
    }
    if (lk->own < 0) {
        if (lk->dst_key == NULL && (lk->dst_key = PyBytes_FromStringAndSize((const char *)p + 16, 4)) == NULL) {
            return -1;
        }
        if ((lk->own = PySet_Contains(b->own4, lk->dst_key)) < 0) {
            return -1;
        }
    }
    if (!lk->own) {
        return 0;
    }
    *kind = KIND_DECAP;
    if (p[9] == PROTO_ESP) {
        if (length < 24) {
            return 0;
        }
        uint32_t spi = rd32(p + 20);
        if (!lk->have_spi || spi != lk->spi) {
            lk->have_spi = 0;
            Py_CLEAR(lk->spi_fast);
            PyObject *found = spi_lookup(b->cache, TABLE_SPI, b->inbound, p + 20, spi);
            if (found == NULL && PyErr_Occurred()) {
                return -1;
            }
            lk->spi_fast = Py_XNewRef(found);
            lk->spi = spi;
            lk->have_spi = 1;
        }
        *fast = lk->spi_fast;
        return 0;
    }
    /* ESP in UDP on the SA's port (the port itself is checked by the caller, FastTables._inbound_udp_for) */
    if (p[9] != PROTO_UDP || length < 36) {
        return 0;
    }
    *fast = spi_lookup(b->cache, TABLE_SPI_UDP, b->inbound_udp, p + 28, rd32(p + 28));
    if (*fast == NULL && PyErr_Occurred()) {
        return -1;
    }
    *udp = 1;
    return 0;
}

/* FastTables._inbound_udp_for's checks on the UDP header: IKE, a keepalive, another port or a bad UDP
 * length go to the general path. */
static int
udp_esp_acceptable(const Decap *d, const uint8_t *p, Py_ssize_t length)
{
    return rd16(p + 22) == d->udp_port && (Py_ssize_t)rd16(p + 24) == length - 20
           && !(d->udp_port == 500 && length > 45 && p[45] == 0x20); /* 500: could be an IKE header */
}

static int
flush_ingress(PyObject *port, unsigned long long count, unsigned long long nbytes)
{
    if (port == NULL || !count) {
        return 0;
    }
    PyObject *counters = PyObject_GetAttr(port, S.counters);
    if (counters == NULL) {
        return -1;
    }
    int rc = add_attr(counters, S.input_packets, count) < 0 || add_attr(counters, S.input_bytes, nbytes) < 0;
    Py_DECREF(counters);
    return rc ? -1 : 0;
}

/* Put each packet in its SA's group or in `slow`, counting what was classified at its ingress port. */
static int
classify(Batch *b)
{
    PyObject *last_name = NULL; /* borrowed: compared by identity, as the Python loop does */
    PyObject *port = NULL;      /* strong */
    unsigned long long count = 0, nbytes = 0;
    Lookup lk;
    memset(&lk, 0, sizeof lk);
    int rc = 0;
    for (Py_ssize_t i = 0; i < b->n && rc == 0; i++) {
        PyObject *item = b->items[i];
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
            PyErr_SetString(PyExc_TypeError, "packets must be (interface, packet) tuples");
            rc = -1;
            break;
        }
        PyObject *ifname = PyTuple_GET_ITEM(item, 0);
        PyObject *packet = PyTuple_GET_ITEM(item, 1);
        if (i == 0 || ifname != last_name) {
            if (flush_ingress(port, count, nbytes) < 0) {
                rc = -1;
                break;
            }
            last_name = ifname;
            count = nbytes = 0;
            Py_CLEAR(port);
            port = PyDict_GetItemWithError(b->ingress, ifname);
            if (port == NULL && PyErr_Occurred()) {
                rc = -1;
                break;
            }
            Py_XINCREF(port);
        }
        PyObject *fast = NULL;
        int kind = 0, udp = 0;
        Py_ssize_t length = PyBytes_CheckExact(packet) ? PyBytes_GET_SIZE(packet) : 0;
        const uint8_t *p = length ? (const uint8_t *)PyBytes_AS_STRING(packet) : NULL;
        if (port != NULL && length >= 20 && p[0] == 0x45
            && classify_one(b, &lk, p, length, &fast, &kind, &udp) < 0) {
            rc = -1;
            break;
        }
        Py_ssize_t g = -1;
        if (fast != NULL) {
            size_t slot = 0;
            PyObject *native = NULL; /* strong, until a new group takes it */
            g = group_find(b, fast, &slot);
            if (g < 0 && (native = native_of(fast, kind)) == NULL) {
                rc = -1;
                break;
            }
            const Decap *d = (const Decap *)(g >= 0 ? b->groups[g].native : native);
            if (udp && !udp_esp_acceptable(d, p, length)) {
                Py_XDECREF(native);
                g = -1;
            }
            else if (g < 0) {
                g = group_add(b, fast, native, kind, slot);
            }
        }
        if (g < 0) {
            if (PyList_Append(b->slow, item) < 0) {
                rc = -1;
            }
            continue;
        }
        group_push(b, g, i);
        count++;
        nbytes += (unsigned long long)length;
    }
    if (rc == 0 && flush_ingress(port, count, nbytes) < 0) {
        rc = -1;
    }
    Py_XDECREF(port);
    lookup_clear(&lk);
    return rc;
}

/* ----------------------------------------------------------------------------------- run */
static void
batch_clear(Batch *b)
{
    for (Py_ssize_t i = 0; i < b->ngroups; i++) {
        Py_XDECREF(b->groups[i].fast);
        Py_XDECREF(b->groups[i].native);
    }
    if (b->items != NULL) {
        for (Py_ssize_t i = 0; i < b->n; i++) {
            Py_XDECREF(b->items[i]);
        }
    }
    Window **windows[] = {&b->w_nonce, &b->w_data, &b->w_aad, &b->w_out};
    for (size_t i = 0; i < 4; i++) {
        Window *w = *windows[i];
        if (w != NULL) {
            w->buf = NULL; /* nothing may read packet memory through a window after the batch */
            w->len = 0;
            Py_DECREF(w);
        }
    }
    PyMem_Free(b->items);
    PyMem_Free(b->next);
    PyMem_Free(b->groups);
    PyMem_Free(b->map);
    PyMem_Free(b->scratch);
    Py_XDECREF(b->ingress);
    Py_XDECREF(b->tunnel_by_dst);
    Py_XDECREF(b->own4);
    Py_XDECREF(b->inbound);
    Py_XDECREF(b->inbound_udp);
    Py_XDECREF(b->forward_by_dst);
    Py_XDECREF(b->dirty);
    Py_XDECREF(b->cache);
}

static int
table_attr(PyObject *tables, PyObject *name, PyObject **out, int want_dict)
{
    *out = PyObject_GetAttr(tables, name);
    if (*out == NULL) {
        return -1;
    }
    /* want: 1 a dict, 0 a set, 2 a list */
    if (want_dict == 1 ? !PyDict_Check(*out) : want_dict == 2 ? !PyList_Check(*out) : !PyAnySet_Check(*out)) {
        PyErr_Format(PyExc_TypeError, "FastTables.%U has the wrong type", name);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(run_doc,
"run(tables, dp, packets, now, out, slow, diverted) -> int\n\n"
"The fast paths over one batch, as FastTables.run does in Python: encapsulated and decrypted packets are\n"
"appended to `out`, packets never classified to `slow`, classified packets the general path must handle\n"
"to `diverted`. Returns the number of packets completed by the fast loops.");

static PyObject *
run(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "run() takes 7 arguments");
        return NULL;
    }
    Batch batch;
    memset(&batch, 0, sizeof batch);
    Batch *b = &batch;
    b->tables = args[0];
    b->dp = args[1];
    b->now = args[3];
    b->out = args[4];
    b->slow = args[5];
    b->diverted = args[6];
    if (!PyList_Check(b->out) || !PyList_Check(b->slow) || !PyList_Check(b->diverted)) {
        PyErr_SetString(PyExc_TypeError, "out, slow and diverted must be lists");
        return NULL;
    }
    PyObject *result = NULL;
    PyObject *packets = PySequence_Fast(args[2], "packets must be a sequence");
    if (packets == NULL) {
        return NULL;
    }
    b->n = PySequence_Fast_GET_SIZE(packets);
    size_t capacity = 8;
    while (capacity < (size_t)b->n * 2 + 2) {
        capacity <<= 1;
    }
    b->map_mask = capacity - 1;
    b->items = PyMem_Calloc((size_t)b->n + 1, sizeof(PyObject *));
    b->next = PyMem_Calloc((size_t)b->n + 1, sizeof(Py_ssize_t));
    b->groups = PyMem_Calloc((size_t)b->n + 1, sizeof(Group));
    b->map = PyMem_Calloc(capacity, sizeof(Py_ssize_t));
    if (b->items == NULL || b->next == NULL || b->groups == NULL || b->map == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < b->n; i++) {
        b->items[i] = Py_NewRef(PySequence_Fast_GET_ITEM(packets, i));
    }
    if (table_attr(b->tables, S.ingress, &b->ingress, 1) < 0
        || table_attr(b->tables, S.tunnel_by_dst, &b->tunnel_by_dst, 1) < 0
        || table_attr(b->tables, S.own4, &b->own4, 0) < 0 || table_attr(b->tables, S.inbound, &b->inbound, 1) < 0
        || table_attr(b->tables, S.inbound_udp, &b->inbound_udp, 1) < 0
        || table_attr(b->tables, S.forward_by_dst, &b->forward_by_dst, 1) < 0
        || table_attr(b->tables, S.dirty, &b->dirty, 2) < 0) {
        goto done;
    }
    {
        PyObject *cache = PyObject_GetAttr(b->tables, S.dest_cache);
        if (cache == NULL) {
            goto done;
        }
        if (cache != Py_None && !PyObject_TypeCheck(cache, &DestCacheType)) {
            Py_DECREF(cache);
            PyErr_SetString(PyExc_TypeError, "FastTables._dest_cache must be a DestCache or None");
            goto done;
        }
        b->cache = cache == Py_None ? NULL : (DestCache *)cache;
        if (b->cache == NULL) {
            Py_DECREF(cache);
        }
    }
    if ((b->w_nonce = window_new(1)) == NULL || (b->w_data = window_new(1)) == NULL
        || (b->w_aad = window_new(1)) == NULL || (b->w_out = window_new(0)) == NULL) {
        goto done;
    }
    if (classify(b) < 0) {
        goto done;
    }
    /* Encapsulation groups first, then decapsulation, each in order of first appearance (as Python). */
    for (int kind = KIND_ENCAP; kind <= KIND_DECAP; kind++) {
        for (Py_ssize_t g = 0; g < b->ngroups; g++) {
            Group *group = &b->groups[g];
            if (group->kind != kind) {
                continue;
            }
            if ((kind == KIND_ENCAP ? encap_group(b, group) : decap_group(b, group)) < 0) {
                goto done;
            }
        }
    }
    if (pending_flush(b) == 0) {
        result = PyLong_FromSsize_t(b->done);
    }
done:
    if (result == NULL) {
        pending_flush(b); /* what was sent stays counted; the first error is kept */
    }
    batch_clear(b);
    Py_DECREF(packets);
    return result;
}

/* ----------------------------------------------------------------------------------- module */
static PyMethodDef methods[] = {
    {"run", (PyCFunction)(void (*)(void))run, METH_FASTCALL, run_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "netconf_device.pfe._espfast",
    .m_doc = "The PFE's batched ESP fast path in C (crypto through cryptography's AESGCM).",
    .m_size = -1,
    .m_methods = methods,
};

static int
intern_names(void)
{
    struct {
        PyObject **slot;
        const char *text;
    } names[] = {
        {&S.seq, "seq"}, {&S.last_used, "last_used"}, {&S.native, "native"},
        {&S.counters, "counters"}, {&S.top, "top"}, {&S.bitmap, "bitmap"}, {&S.egress, "egress"},
        {&S.mtu, "mtu"}, {&S.input_packets, "input_packets"}, {&S.input_bytes, "input_bytes"},
        {&S.output_packets, "output_packets"}, {&S.output_bytes, "output_bytes"},
        {&S.esp_encrypted_packets, "esp_encrypted_packets"}, {&S.esp_encrypted_bytes, "esp_encrypted_bytes"},
        {&S.esp_decrypted_packets, "esp_decrypted_packets"}, {&S.esp_decrypted_bytes, "esp_decrypted_bytes"},
        {&S.replay_errors, "replay_errors"}, {&S.discard_errors, "discard_errors"},
        {&S.esp_authentication_failures, "esp_authentication_failures"}, {&S.ingress, "ingress"},
        {&S.tunnel_by_dst, "tunnel_by_dst"}, {&S.own4, "own4"}, {&S.inbound, "inbound"},
        {&S.inbound_udp, "inbound_udp"}, {&S.forward_by_dst, "forward_by_dst"},
        {&S.tunnel_decision, "_tunnel_decision"}, {&S.forward_decision, "_forward_decision"},
        {&S.finish_decap, "_finish_decap"}, {&S.dest_cache, "_dest_cache"}, {&S.dirty, "_dirty"}, {&S.to_bytes, "to_bytes"}, {&S.from_bytes, "from_bytes"},
        {&S.little, "little"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (*names[i].slot == NULL && (*names[i].slot = PyUnicode_InternFromString(names[i].text)) == NULL) {
            return -1;
        }
    }
    return 0;
}

PyMODINIT_FUNC
PyInit__espfast(void)
{
    if (intern_names() < 0 || PyType_Ready(&WindowType) < 0 || PyType_Ready(&EncapType) < 0
        || PyType_Ready(&DecapType) < 0 || PyType_Ready(&DestCacheType) < 0) {
        return NULL;
    }
    if (S.invalid_tag == NULL) {
        PyObject *exceptions = PyImport_ImportModule("cryptography.exceptions");
        if (exceptions == NULL) {
            return NULL;
        }
        S.invalid_tag = PyObject_GetAttrString(exceptions, "InvalidTag");
        Py_DECREF(exceptions);
        if (S.invalid_tag == NULL) {
            return NULL;
        }
    }
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "Encap", (PyObject *)&EncapType) < 0
        || PyModule_AddObjectRef(module, "Decap", (PyObject *)&DecapType) < 0
        || PyModule_AddObjectRef(module, "DestCache", (PyObject *)&DestCacheType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
