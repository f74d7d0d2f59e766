/*
 * mamori.slo._scan: count NDJSON request events by key without building Python objects per event.
 *
 * A Scanner is made once per SLO configuration from the fields the SLIs read. Its count(lines) checks
 * every line completely (RFC 8259 grammar, strict UTF-8, escapes and surrogate pairs, nesting depth),
 * reads `ts`, `service` and those fields, and counts one key per event. Python objects are made only
 * for each distinct key. It never raises for what a line holds: whenever a line is invalid or merely
 * unusual (another timestamp form, an escaped timestamp, a long number, an object where a value is
 * read) it returns None, and the caller counts the batch on a slower path that names bad lines.
 *
 * The key of an event is (service, ts[:16], part...) with, for each field in the order given:
 *   KIND_TEXT   the value
 *   KIND_RAW    the value, type(value)
 *   KIND_NUMBER for an int or float, 2 * (constants below it) + (1 if equal to one);
 *               otherwise (value, type(value))
 * and the missing marker given to the constructor for a missing field, as mamori.slo.counting does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <string.h>

#define MAX_DEPTH 512
#define MAX_FIELDS 64
#define MAX_NODES 256
#define MAX_CONSTS 256
#define MAX_NUMBER_LEN 63
#define MAX_INT_DIGITS 20 /* and within [-2**63, 2**64): orjson reads other integers as floats */

enum { KIND_TEXT = 0, KIND_RAW = 1, KIND_NUMBER = 2 };
enum { V_MISSING = 0, V_STRING, V_INT, V_FLOAT, V_TRUE, V_FALSE, V_NULL };

typedef struct {
    int type;
    const unsigned char *start; /* string: the raw bytes between the quotes; number: the token */
    Py_ssize_t len;
    int escaped;
    int negative;                 /* an integer's sign... */
    unsigned long long magnitude; /* ...and size */
} Value;

/* Sign and magnitude of an integer token; -1 when it is outside [-2**63, 2**64). */
static int token_int(const Value *v, int *negative, unsigned long long *magnitude) {
    const unsigned char *p = v->start, *end = v->start + v->len;
    unsigned long long out = 0;
    *negative = p < end && *p == '-';
    if (*negative)
        p++;
    for (; p < end; p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (out > (~0ULL - digit) / 10)
            return -1;
        out = out * 10 + digit;
    }
    if (*negative && out > (1ULL << 63))
        return -1;
    *magnitude = out;
    return 0;
}

typedef struct {
    PyObject *name; /* bytes, UTF-8 */
    int parent;     /* node index, -1 for the root's children */
    int slot;       /* value slot for a leaf, -1 for an object node */
} Node;

typedef struct {
    int slot;
    int kind;
    int n_consts;
    double *consts; /* sorted */
} Field;

typedef struct {
    PyObject_HEAD
    Node nodes[MAX_NODES];
    int n_nodes;
    Field fields[MAX_FIELDS];
    int n_fields;
    int n_slots;
    PyObject *missing;
} Scanner;

/* -- per-call state --------------------------------------------------------------------------------------------- */

typedef struct {
    unsigned char *data;
    Py_ssize_t len, cap;
} Buffer;

static int buf_reserve(Buffer *b, Py_ssize_t more) {
    if (b->len + more <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) {
        if (cap > PY_SSIZE_T_MAX / 2)
            return -1;
        cap *= 2;
    }
    unsigned char *data = PyMem_Realloc(b->data, (size_t)cap);
    if (data == NULL)
        return -1;
    b->data = data;
    b->cap = cap;
    return 0;
}

static int buf_put(Buffer *b, const void *src, Py_ssize_t n) {
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->data + b->len, src, (size_t)n);
    b->len += n;
    return 0;
}

typedef struct {
    const unsigned char *p, *end;
    Scanner *sc;
    Value values[MAX_FIELDS + 2];
} Cursor;

/* -- the grammar ------------------------------------------------------------------------------------------------- */

static inline void skip_ws(Cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int hex4(const unsigned char *p, const unsigned char *end, unsigned *out) {
    if (end - p < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char ch = p[i];
        v <<= 4;
        if (ch >= '0' && ch <= '9')
            v |= (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            v |= (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            v |= (unsigned)(ch - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Length of the well-formed UTF-8 sequence at p (Unicode table 3-7), or -1. */
static int utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned char b0 = p[0];
    Py_ssize_t room = end - p;
    unsigned char lo = 0x80, hi = 0xBF;
    int n;
    if (b0 >= 0xC2 && b0 <= 0xDF)
        n = 2;
    else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        if (b0 == 0xE0)
            lo = 0xA0;
        else if (b0 == 0xED)
            hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        if (b0 == 0xF0)
            lo = 0x90;
        else if (b0 == 0xF4)
            hi = 0x8F;
    } else
        return -1;
    if (room < n)
        return -1;
    if (p[1] < lo || p[1] > hi)
        return -1;
    for (int i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return -1;
    return n;
}

/* c->p at the opening quote; on success c->p is after the closing quote. */
static int parse_string(Cursor *c, Value *out) {
    const unsigned char *p = c->p + 1, *end = c->end;
    const unsigned char *start = p;
    int escaped = 0;
    for (;;) {
        if (p >= end)
            return -1;
        unsigned char ch = *p;
        if (ch == '"')
            break;
        if (ch < 0x20)
            return -1;
        if (ch == '\\') {
            escaped = 1;
            if (end - p < 2)
                return -1;
            unsigned char e = p[1];
            if (e == 'u') {
                unsigned cp, low;
                if (hex4(p + 2, end, &cp) < 0)
                    return -1;
                p += 6;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return -1; /* a low surrogate alone */
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &low) < 0)
                        return -1;
                    if (low < 0xDC00 || low > 0xDFFF)
                        return -1;
                    p += 6;
                }
                continue;
            }
            if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                p += 2;
                continue;
            }
            return -1;
        }
        if (ch < 0x80) {
            p++;
            continue;
        }
        int n = utf8_len(p, end);
        if (n < 0)
            return -1;
        p += n;
    }
    if (out != NULL) {
        out->type = V_STRING;
        out->start = start;
        out->len = p - start;
        out->escaped = escaped;
    }
    c->p = p + 1;
    return 0;
}

static inline int is_digit(unsigned char ch) { return ch >= '0' && ch <= '9'; }

/* A number token; -1 when invalid, or when its size might be beyond a double (left to the slow path). */
static int parse_number(Cursor *c, Value *out) {
    const unsigned char *p = c->p, *end = c->end, *start = p;
    int is_float = 0;
    Py_ssize_t int_digits = 0, exp_digits = 0;
    if (p < end && *p == '-')
        p++;
    if (p >= end)
        return -1;
    if (*p == '0') {
        p++;
        int_digits = 1;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && is_digit(*p)) {
            p++;
            int_digits++;
        }
    } else
        return -1;
    if (p < end && *p == '.') {
        p++;
        is_float = 1;
        if (p >= end || !is_digit(*p))
            return -1;
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        is_float = 1;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(*p))
            return -1;
        while (p < end && *p == '0')
            p++;
        while (p < end && is_digit(*p)) {
            p++;
            exp_digits++;
        }
    }
    if (int_digits > 300 || exp_digits >= 3)
        return -1; /* maybe beyond a double: orjson refuses those, the slow path decides */
    if (out != NULL) {
        if (p - start > MAX_NUMBER_LEN || (!is_float && int_digits > MAX_INT_DIGITS))
            return -1;
        out->type = is_float ? V_FLOAT : V_INT;
        out->start = start;
        out->len = p - start;
        out->escaped = 0;
        if (!is_float && token_int(out, &out->negative, &out->magnitude) < 0)
            return -1;
    }
    c->p = p;
    return 0;
}

static int parse_literal(Cursor *c, const char *word, Py_ssize_t n) {
    if (c->end - c->p < n || memcmp(c->p, word, (size_t)n) != 0)
        return -1;
    c->p += n;
    return 0;
}

static int parse_object(Cursor *c, int depth, int node);
static int parse_array(Cursor *c, int depth);

/* Any value; recorded in `out` when it is read (an object or array there is left to the slow path). */
static int parse_value(Cursor *c, int depth, Value *out) {
    if (c->p >= c->end)
        return -1;
    switch (*c->p) {
    case '"':
        return parse_string(c, out);
    case '{':
        return out != NULL ? -1 : parse_object(c, depth + 1, -2);
    case '[':
        return out != NULL ? -1 : parse_array(c, depth + 1);
    case 't':
        if (out != NULL)
            out->type = V_TRUE;
        return parse_literal(c, "true", 4);
    case 'f':
        if (out != NULL)
            out->type = V_FALSE;
        return parse_literal(c, "false", 5);
    case 'n':
        if (out != NULL)
            out->type = V_NULL;
        return parse_literal(c, "null", 4);
    default:
        return parse_number(c, out);
    }
}

static int parse_array(Cursor *c, int depth) {
    if (depth > MAX_DEPTH)
        return -1;
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return 0;
    }
    for (;;) {
        skip_ws(c);
        if (parse_value(c, depth, NULL) < 0)
            return -1;
        skip_ws(c);
        if (c->p >= c->end)
            return -1;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == ']') {
            c->p++;
            return 0;
        }
        return -1;
    }
}

/* Decode the escapes of a validated string into `b`. */
static int unescape(const Value *v, Buffer *b) {
    const unsigned char *p = v->start, *end = v->start + v->len;
    if (buf_reserve(b, v->len) < 0) /* decoded text is never longer than its escaped form */
        return -1;
    unsigned char *o = b->data + b->len;
    while (p < end) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        unsigned char e = p[1];
        p += 2;
        switch (e) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, low;
            hex4(p, end, &cp);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                hex4(p + 2, end, &low);
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            }
            if (cp < 0x80)
                *o++ = (unsigned char)cp;
            else if (cp < 0x800) {
                *o++ = (unsigned char)(0xC0 | (cp >> 6));
                *o++ = (unsigned char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *o++ = (unsigned char)(0xE0 | (cp >> 12));
                *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (unsigned char)(0x80 | (cp & 0x3F));
            } else {
                *o++ = (unsigned char)(0xF0 | (cp >> 18));
                *o++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
                *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (unsigned char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: *o++ = e; /* " \ / */
        }
    }
    b->len = o - b->data;
    return 0;
}

/* The child of `node` named by the key, or -1. */
static int find_child(Scanner *sc, int node, const unsigned char *key, Py_ssize_t len) {
    for (int i = 0; i < sc->n_nodes; i++) {
        Node *n = &sc->nodes[i];
        if (n->parent == node && PyBytes_GET_SIZE(n->name) == len && memcmp(PyBytes_AS_STRING(n->name), key, (size_t)len) == 0)
            return i;
    }
    return -1;
}

/* Forget the fields under an object node (a repeated key: the last object counts, as in orjson). */
static void clear_under(Cursor *c, int node) {
    Scanner *sc = c->sc;
    for (int i = 0; i < sc->n_nodes; i++) {
        if (sc->nodes[i].slot < 0)
            continue;
        for (int up = sc->nodes[i].parent; up >= 0; up = sc->nodes[up].parent)
            if (up == node) {
                c->values[sc->nodes[i].slot].type = V_MISSING;
                break;
            }
    }
}

/* node: -1 for the event itself, a node index for an object the SLIs read into, -2 for one they do not. */
static int parse_object(Cursor *c, int depth, int node) {
    if (depth > MAX_DEPTH)
        return -1;
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return 0;
    }
    Buffer key = {NULL, 0, 0};
    int rc = -1;
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end || *c->p != '"')
            goto done;
        Value k;
        if (parse_string(c, &k) < 0)
            goto done;
        int child = -1;
        if (node != -2) {
            if (k.escaped) {
                key.len = 0;
                if (unescape(&k, &key) < 0)
                    goto done;
                child = find_child(c->sc, node, key.data, key.len);
            } else
                child = find_child(c->sc, node, k.start, k.len);
        }
        skip_ws(c);
        if (c->p >= c->end || *c->p != ':')
            goto done;
        c->p++;
        skip_ws(c);
        if (child < 0) {
            if (parse_value(c, depth, NULL) < 0)
                goto done;
        } else if (c->sc->nodes[child].slot >= 0) {
            if (parse_value(c, depth, &c->values[c->sc->nodes[child].slot]) < 0)
                goto done;
        } else {
            if (c->p >= c->end || *c->p != '{')
                goto done; /* not an object where the SLIs read into one: the slow path */
            clear_under(c, child);
            if (parse_object(c, depth + 1, child) < 0)
                goto done;
        }
        skip_ws(c);
        if (c->p >= c->end)
            goto done;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == '}') {
            c->p++;
            rc = 0;
            goto done;
        }
        goto done;
    }
done:
    PyMem_Free(key.data);
    return rc;
}

/* -- keys -------------------------------------------------------------------------------------------------------- */

/* `YYYY-MM-DD[Tt ]HH:MM` then `:SS[.f{1,9}]` with SS 00-60, then `Z`, `z` or `[+-]00:00`: the one form counted
   here (the calendar check of the first 16 characters is done once per distinct minute, by the caller). */
static int plain_utc_ts(const Value *v) {
    const unsigned char *s = v->start;
    Py_ssize_t n = v->len;
    static const char shape[] = "dddd-dd-ddTdd:dd";
    if (v->escaped || n < 20)
        return 0;
    for (int i = 0; i < 16; i++) {
        char want = shape[i];
        if (want == 'd') {
            if (!is_digit(s[i]))
                return 0;
        } else if (want == 'T') {
            if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
                return 0;
        } else if (s[i] != (unsigned char)want)
            return 0;
    }
    if (s[16] != ':' || !is_digit(s[17]) || !is_digit(s[18]))
        return 0;
    if (!(s[17] <= '5' || (s[17] == '6' && s[18] == '0')))
        return 0;
    Py_ssize_t i = 19;
    if (i < n && s[i] == '.') {
        Py_ssize_t digits = 0;
        i++;
        while (i < n && is_digit(s[i])) {
            i++;
            digits++;
        }
        if (digits < 1 || digits > 9)
            return 0;
    }
    if (n - i == 1)
        return s[i] == 'Z' || s[i] == 'z';
    if (n - i == 6)
        return (s[i] == '+' || s[i] == '-') && memcmp(s + i + 1, "00:00", 5) == 0;
    return 0;
}

static double token_double(const Value *v) {
    char text[MAX_NUMBER_LEN + 1];
    memcpy(text, v->start, (size_t)v->len);
    text[v->len] = '\0';
    return PyOS_string_to_double(text, NULL, NULL);
}

/* -1, 0 or 1 as the integer compares with the double, exactly (as Python compares int and float). */
static int compare_int(const Value *v, double c) {
    const double two53 = 9007199254740992.0, two63 = 9223372036854775808.0, two64 = 18446744073709551616.0;
    if (v->magnitude <= (1ULL << 53)) {
        double x = v->negative ? -(double)v->magnitude : (double)v->magnitude;
        return (x > c) - (x < c);
    }
    /* |v| > 2**53 */
    if (c >= two64)
        return -1;
    if (c < -two63)
        return 1;
    if (c > -two53 && c < two53) /* |c| < 2**53 < |v|: the sign decides */
        return v->negative ? -1 : 1;
    /* |c| >= 2**53, so c is a whole number in [-2**63, 2**64) */
    int c_negative = c < 0;
    unsigned long long c_magnitude = c_negative ? (unsigned long long)(-c) : (unsigned long long)c;
    if (v->negative != c_negative)
        return v->negative ? -1 : 1;
    int by_size = (v->magnitude > c_magnitude) - (v->magnitude < c_magnitude);
    return v->negative ? -by_size : by_size;
}

/* Append the key bytes of a value; the tag keeps types apart (1 and 1.0 and true stay different keys). */
static int key_value(Buffer *b, const Value *v, Buffer *scratch) {
    unsigned char tag = (unsigned char)v->type;
    if (buf_put(b, &tag, 1) < 0)
        return -1;
    if (v->type == V_STRING) {
        const unsigned char *text = v->start;
        Py_ssize_t len = v->len;
        if (v->escaped) {
            scratch->len = 0;
            if (unescape(v, scratch) < 0)
                return -1;
            text = scratch->data;
            len = scratch->len;
        }
        return buf_put(b, &len, sizeof len) < 0 ? -1 : buf_put(b, text, len);
    }
    if (v->type == V_INT || v->type == V_FLOAT)
        return buf_put(b, &v->len, sizeof v->len) < 0 ? -1 : buf_put(b, v->start, v->len);
    return 0;
}

/* The reduced position of a number among a field's constants, or -1 when the slow path must decide. */
static long long position(const Field *f, const Value *v) {
    long long below = 0, equal = 0;
    if (v->type == V_INT) {
        for (int i = 0; i < f->n_consts; i++) {
            int order = compare_int(v, f->consts[i]);
            below += order > 0;
            equal |= order == 0;
        }
        return 2 * below + equal;
    }
    double x = token_double(v);
    if (x == -1.0 && PyErr_Occurred())
        return -2;
    if (Py_IS_INFINITY(x) || Py_IS_NAN(x))
        return -1;
    for (int i = 0; i < f->n_consts; i++) {
        below += f->consts[i] < x;
        equal |= f->consts[i] == x;
    }
    return 2 * below + equal;
}

/* A Python object for a value (new reference), or NULL with an exception set. */
static PyObject *py_value(Scanner *sc, const Value *v, Buffer *scratch) {
    switch (v->type) {
    case V_MISSING: return Py_NewRef(sc->missing);
    case V_TRUE: Py_RETURN_TRUE;
    case V_FALSE: Py_RETURN_FALSE;
    case V_NULL: Py_RETURN_NONE;
    case V_INT:
        if (v->negative)
            return PyLong_FromLongLong(v->magnitude == (1ULL << 63) ? LLONG_MIN : -(long long)v->magnitude);
        return PyLong_FromUnsignedLongLong(v->magnitude);
    case V_FLOAT: {
        double x = token_double(v);
        if (x == -1.0 && PyErr_Occurred())
            return NULL;
        return PyFloat_FromDouble(x);
    }
    default:
        if (v->escaped) {
            scratch->len = 0;
            if (unescape(v, scratch) < 0)
                return PyErr_NoMemory();
            return PyUnicode_DecodeUTF8((const char *)scratch->data, scratch->len, "strict");
        }
        return PyUnicode_DecodeUTF8((const char *)v->start, v->len, "strict");
    }
}

static PyObject *typed_pair(PyObject *value) {
    return value == NULL ? NULL : Py_BuildValue("(NO)", value, (PyObject *)Py_TYPE(value));
}

/* The Python key of the event in the cursor. */
static PyObject *py_key(Scanner *sc, Cursor *c, Buffer *scratch) {
    Py_ssize_t size = 2;
    for (int i = 0; i < sc->n_fields; i++)
        size += sc->fields[i].kind == KIND_RAW ? 2 : 1;
    PyObject *key = PyTuple_New(size);
    if (key == NULL)
        return NULL;
    PyObject *item = py_value(sc, &c->values[1], scratch);
    if (item == NULL)
        goto fail;
    PyTuple_SET_ITEM(key, 0, item);
    item = PyUnicode_DecodeUTF8((const char *)c->values[0].start, 16, "strict");
    if (item == NULL)
        goto fail;
    PyTuple_SET_ITEM(key, 1, item);
    Py_ssize_t at = 2;
    for (int i = 0; i < sc->n_fields; i++) {
        Field *f = &sc->fields[i];
        const Value *v = &c->values[f->slot];
        if (f->kind == KIND_NUMBER && (v->type == V_INT || v->type == V_FLOAT)) {
            item = PyLong_FromLongLong(position(f, v));
        } else if (f->kind == KIND_NUMBER) {
            item = typed_pair(py_value(sc, v, scratch));
        } else {
            item = py_value(sc, v, scratch);
            if (item != NULL && f->kind == KIND_RAW) {
                PyTuple_SET_ITEM(key, at++, item);
                item = Py_NewRef((PyObject *)Py_TYPE(item));
            }
        }
        if (item == NULL)
            goto fail;
        PyTuple_SET_ITEM(key, at++, item);
    }
    return key;
fail:
    Py_DECREF(key);
    return NULL;
}

/* The key bytes of the event in the cursor; 1 when the event must go the slow path, -1 on error. */
static int event_key(Scanner *sc, Cursor *c, Buffer *b, Buffer *scratch) {
    const Value *ts = &c->values[0], *service = &c->values[1];
    if (ts->type != V_STRING || !plain_utc_ts(ts))
        return 1;
    if (service->type != V_STRING || service->len == 0)
        return 1;
    b->len = 0;
    if (key_value(b, service, scratch) < 0 || buf_put(b, ts->start, 16) < 0)
        return -1;
    for (int i = 0; i < sc->n_fields; i++) {
        Field *f = &sc->fields[i];
        const Value *v = &c->values[f->slot];
        if (f->kind == KIND_NUMBER && (v->type == V_INT || v->type == V_FLOAT)) {
            long long pos = position(f, v);
            if (pos == -2)
                return -1;
            if (pos < 0)
                return 1;
            unsigned char tag = 0xFF;
            if (buf_put(b, &tag, 1) < 0 || buf_put(b, &pos, sizeof pos) < 0)
                return -1;
        } else if (key_value(b, v, scratch) < 0)
            return -1;
    }
    return 0;
}

/* -- the type ---------------------------------------------------------------------------------------------------- */

/* Count one line: 0 when counted, 1 when the batch must go the slow path, -1 on error (exception set). */
static int count_line(Scanner *sc, Cursor *c, PyObject *line, Buffer *b, Buffer *scratch, PyObject *index,
                      PyObject *keys, Py_ssize_t **tallies, Py_ssize_t *n_keys, Py_ssize_t *cap) {
    c->p = (const unsigned char *)PyBytes_AS_STRING(line);
    c->end = c->p + PyBytes_GET_SIZE(line);
    for (int s = 0; s < sc->n_slots; s++)
        c->values[s].type = V_MISSING;
    skip_ws(c);
    if (c->p >= c->end || *c->p != '{' || parse_object(c, 1, -1) < 0)
        return 1;
    skip_ws(c);
    if (c->p != c->end)
        return 1;
    int rc = event_key(sc, c, b, scratch);
    if (rc != 0)
        return rc;
    PyObject *kb = PyBytes_FromStringAndSize((const char *)b->data, b->len);
    if (kb == NULL)
        return -1;
    PyObject *at = PyDict_GetItemWithError(index, kb);
    if (at != NULL) {
        (*tallies)[PyLong_AsSsize_t(at)]++;
        Py_DECREF(kb);
        return 0;
    }
    if (PyErr_Occurred()) {
        Py_DECREF(kb);
        return -1;
    }
    if (*n_keys == *cap) {
        Py_ssize_t grown_cap = *cap ? *cap * 2 : 64;
        Py_ssize_t *grown = PyMem_Realloc(*tallies, (size_t)grown_cap * sizeof **tallies);
        if (grown == NULL) {
            Py_DECREF(kb);
            PyErr_NoMemory();
            return -1;
        }
        *tallies = grown;
        *cap = grown_cap;
    }
    PyObject *key = py_key(sc, c, scratch), *slot = PyLong_FromSsize_t(*n_keys);
    int bad = key == NULL || slot == NULL || PyList_Append(keys, key) < 0 || PyDict_SetItem(index, kb, slot) < 0;
    Py_XDECREF(key);
    Py_XDECREF(slot);
    Py_DECREF(kb);
    if (bad)
        return -1;
    (*tallies)[(*n_keys)++] = 1;
    return 0;
}

static PyObject *Scanner_count(Scanner *sc, PyObject *lines) {
    if (sc->missing == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner.__init__ was not called");
        return NULL;
    }
    if (!PyList_Check(lines)) {
        PyErr_SetString(PyExc_TypeError, "count() takes a list of bytes");
        return NULL;
    }
    PyObject *index = PyDict_New(), *keys = PyList_New(0), *result = NULL;
    Py_ssize_t *tallies = NULL, n_keys = 0, cap = 0;
    Buffer b = {NULL, 0, 0}, scratch = {NULL, 0, 0};
    Cursor c;
    c.sc = sc;
    if (index == NULL || keys == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(lines); i++) {
        PyObject *line = PyList_GET_ITEM(lines, i);
        if (!PyBytes_Check(line)) {
            PyErr_SetString(PyExc_TypeError, "count() takes a list of bytes");
            goto done;
        }
        Py_ssize_t len = PyBytes_GET_SIZE(line);
        if (len == 0)
            continue;
        Py_INCREF(line); /* the values below point into it */
        int rc = count_line(sc, &c, line, &b, &scratch, index, keys, &tallies, &n_keys, &cap);
        Py_DECREF(line);
        if (rc < 0)
            goto done;
        if (rc > 0)
            goto slow;
    }
    result = PyList_New(n_keys);
    if (result == NULL)
        goto done;
    for (Py_ssize_t k = 0; k < n_keys; k++) {
        PyObject *pair = Py_BuildValue("(On)", PyList_GET_ITEM(keys, k), tallies[k]);
        if (pair == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, k, pair);
    }
    goto done;
slow:
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(index);
    Py_XDECREF(keys);
    PyMem_Free(tallies);
    PyMem_Free(b.data);
    PyMem_Free(scratch.data);
    return result;
}

static int add_node(Scanner *sc, PyObject *name, int parent, int slot) {
    if (sc->n_nodes >= MAX_NODES) {
        PyErr_SetString(PyExc_ValueError, "too many fields");
        return -1;
    }
    PyObject *encoded = PyUnicode_AsUTF8String(name);
    if (encoded == NULL)
        return -1;
    Node *node = &sc->nodes[sc->n_nodes];
    node->name = encoded;
    node->parent = parent;
    node->slot = slot;
    return sc->n_nodes++;
}

static int node_named(Scanner *sc, PyObject *name, int parent) {
    for (int i = 0; i < sc->n_nodes; i++) {
        PyObject *encoded = PyUnicode_AsUTF8String(name);
        if (encoded == NULL)
            return -2;
        int same = sc->nodes[i].parent == parent && PyObject_RichCompareBool(sc->nodes[i].name, encoded, Py_EQ) == 1;
        Py_DECREF(encoded);
        if (same)
            return i;
    }
    return -1;
}

/* Scanner(fields, missing): fields is a sequence of (path: tuple[str, ...], kind: int, constants: tuple). */
static int Scanner_init(Scanner *sc, PyObject *args, PyObject *kwds) {
    PyObject *fields, *missing;
    static char *kwlist[] = {"fields", "missing", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO", kwlist, &fields, &missing))
        return -1;
    if (sc->n_nodes != 0) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner is already initialised");
        return -1;
    }
    PyObject *ts = PyUnicode_FromString("ts"), *service = PyUnicode_FromString("service");
    int ok = ts != NULL && service != NULL && add_node(sc, ts, -1, 0) >= 0 && add_node(sc, service, -1, 1) >= 0;
    Py_XDECREF(ts);
    Py_XDECREF(service);
    if (!ok)
        return -1;
    sc->n_slots = 2;
    PyObject *seq = PySequence_Fast(fields, "fields must be a sequence");
    if (seq == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n > MAX_FIELDS) {
        PyErr_SetString(PyExc_ValueError, "too many fields");
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *path, *consts;
        int kind;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "O!iO!", &PyTuple_Type, &path, &kind, &PyTuple_Type, &consts))
            goto fail;
        Py_ssize_t depth = PyTuple_GET_SIZE(path);
        if (depth < 1 || kind < KIND_TEXT || kind > KIND_NUMBER || PyTuple_GET_SIZE(consts) > MAX_CONSTS) {
            PyErr_SetString(PyExc_ValueError, "a field needs a path, a kind and at most 256 constants");
            goto fail;
        }
        int parent = -1, node = -1;
        for (Py_ssize_t d = 0; d < depth; d++) {
            PyObject *name = PyTuple_GET_ITEM(path, d);
            if (!PyUnicode_Check(name)) {
                PyErr_SetString(PyExc_TypeError, "path parts must be str");
                goto fail;
            }
            node = node_named(sc, name, parent);
            if (node == -2)
                goto fail;
            int leaf = d == depth - 1;
            if (node >= 0 && (leaf || sc->nodes[node].slot >= 0)) {
                if (!(leaf && depth == 1 && node <= 1)) { /* only `ts` and `service` may be read as they are */
                    PyErr_SetString(PyExc_ValueError, "a field is read both as a value and as an object");
                    goto fail;
                }
            } else if (node < 0) {
                node = add_node(sc, name, parent, leaf ? sc->n_slots++ : -1);
                if (node < 0)
                    goto fail;
            }
            parent = node;
        }
        Field *f = &sc->fields[sc->n_fields];
        f->slot = sc->nodes[node].slot;
        f->kind = kind;
        f->n_consts = (int)PyTuple_GET_SIZE(consts);
        f->consts = PyMem_Malloc(sizeof(double) * (size_t)(f->n_consts ? f->n_consts : 1));
        if (f->consts == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        sc->n_fields++;
        for (int k = 0; k < f->n_consts; k++) {
            PyObject *value = PyTuple_GET_ITEM(consts, k);
            double x = PyFloat_AsDouble(value);
            if (x == -1.0 && PyErr_Occurred())
                goto fail;
            if (PyLong_Check(value) && (x > 9007199254740992.0 || x < -9007199254740992.0)) {
                PyErr_SetString(PyExc_ValueError, "integer constants beyond 2**53 are not supported");
                goto fail;
            }
            if (k > 0 && !(f->consts[k - 1] < x)) {
                PyErr_SetString(PyExc_ValueError, "constants must be sorted and distinct");
                goto fail;
            }
            f->consts[k] = x;
        }
    }
    Py_DECREF(seq);
    sc->missing = Py_NewRef(missing); /* last: a Scanner whose __init__ failed cannot count */
    return 0;
fail:
    Py_DECREF(seq);
    return -1;
}

static void Scanner_dealloc(Scanner *sc) {
    for (int i = 0; i < sc->n_nodes; i++)
        Py_XDECREF(sc->nodes[i].name);
    for (int i = 0; i < sc->n_fields; i++)
        PyMem_Free(sc->fields[i].consts);
    Py_XDECREF(sc->missing);
    Py_TYPE(sc)->tp_free((PyObject *)sc);
}

static PyMethodDef Scanner_methods[] = {
    {"count", (PyCFunction)Scanner_count, METH_O,
     "count(lines) -> list of (key, count), or None when a line must go the slow path."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "mamori.slo._scan.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Counts NDJSON events by key for one set of fields (see the module's source).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
};

static struct PyModuleDef scan_module = {
    PyModuleDef_HEAD_INIT, .m_name = "mamori.slo._scan", .m_doc = "NDJSON event counting in C.", .m_size = -1,
};

PyMODINIT_FUNC PyInit__scan(void) {
    if (PyType_Ready(&ScannerType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&scan_module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Scanner", (PyObject *)&ScannerType) < 0 ||
        PyModule_AddIntConstant(m, "KIND_TEXT", KIND_TEXT) < 0 || PyModule_AddIntConstant(m, "KIND_RAW", KIND_RAW) < 0 ||
        PyModule_AddIntConstant(m, "KIND_NUMBER", KIND_NUMBER) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
