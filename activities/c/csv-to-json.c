/* csv-to-json: a WASI command (wasm32-wasip1) for Loom's `wasi` runtime that turns CSV text into JSON rows.
 *
 * stdin:  {"csv": "<CSV text>"}: RFC 4180, a header record then data records; a quoted field may hold commas,
 *         doubled quotes ("") and line breaks; LF and CRLF end a record; blank lines are skipped.
 * stdout: {"columns": ["a", "b"], "rows": [{"a": "1", "b": "2"}, ...]} (values stay strings, in header order).
 * Bad input: one line on stderr saying why (records are counted from 1, the header being record 1), exit code 2.
 *
 * Built by scripts/build-guests.sh with clang and Debian's wasi-libc; the tests build it natively with the host's
 * cc and compare the two on the same stdin.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len, cap;
} buf;

typedef struct {
    const char *p, *end;
} cursor;

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("csv-to-json: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *grown(void *p, size_t size) {
    p = realloc(p, size);
    if (!p) {
        fputs("csv-to-json: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

static void put(buf *b, const char *s, size_t n) {
    if (!n) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        b->data = grown(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void put_char(buf *b, char c) { put(b, &c, 1); }

static buf read_all(FILE *f) {
    buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) put(&b, chunk, n);
    if (ferror(f)) {
        fputs("csv-to-json: cannot read stdin\n", stderr);
        exit(1);
    }
    return b;
}

/* --- the input: one JSON object with one string field ------------------------------------------------------- */

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static unsigned hex4(cursor *c) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++, c->p++) {
        char h = c->p < c->end ? *c->p : 0;
        v <<= 4;
        if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
        else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
        else fail("a \\u escape needs four hex digits");
    }
    return v;
}

static void put_utf8(buf *b, unsigned cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) u[0] = (char)cp, n = 1;
    else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3F)), u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3F)), u[2] = (char)(0x80 | (cp >> 6 & 0x3F)),
        u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    put(b, u, n);
}

static unsigned escaped_code_point(cursor *c) {
    unsigned cp = hex4(c);
    if (cp >= 0xDC00 && cp <= 0xDFFF) fail("a string holds a lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u') fail("a string holds a lone high surrogate");
        c->p += 2;
        unsigned lo = hex4(c);
        if (lo < 0xDC00 || lo > 0xDFFF) fail("a string holds a lone high surrogate");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    return cp;
}

/* The JSON string at c->p, unescaped into UTF-8 (it may hold NUL bytes: lengths, never terminators). */
static buf json_string(cursor *c, const char *what) {
    if (c->p >= c->end || *c->p != '"') fail("%s must be a string", what);
    c->p++;
    buf out = {0};
    for (;;) {
        if (c->p >= c->end) fail("%s is not terminated", what);
        char ch = *c->p++;
        if (ch == '"') return out;
        if (ch != '\\') {
            put_char(&out, ch);
            continue;
        }
        char e = c->p < c->end ? *c->p++ : 0;
        switch (e) {
        case '"': case '\\': case '/': put_char(&out, e); break;
        case 'b': put_char(&out, '\b'); break;
        case 'f': put_char(&out, '\f'); break;
        case 'n': put_char(&out, '\n'); break;
        case 'r': put_char(&out, '\r'); break;
        case 't': put_char(&out, '\t'); break;
        case 'u': put_utf8(&out, escaped_code_point(c)); break;
        default: fail("%s holds an invalid escape", what);
        }
    }
}

static buf csv_text(const buf *input) {
    cursor c = {input->data, input->data + input->len};
    buf csv = {0};
    int found = 0;
    skip_ws(&c);
    if (c.p >= c.end || *c.p != '{') fail("the input must be an object: {\"csv\": \"<CSV text>\"}");
    c.p++;
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') c.p++;
    else
        for (;;) {
            buf key = json_string(&c, "a field name");
            skip_ws(&c);
            if (c.p >= c.end || *c.p != ':') fail("expected ':' after a field name");
            c.p++;
            skip_ws(&c);
            if (key.len != 3 || memcmp(key.data, "csv", 3) != 0)
                fail("unknown field \"%.*s\": the input is {\"csv\": \"<CSV text>\"}", (int)(key.len > 64 ? 64 : key.len),
                     key.data);
            free(key.data);
            free(csv.data);
            csv = json_string(&c, "\"csv\"");
            found = 1;
            skip_ws(&c);
            if (c.p < c.end && *c.p == ',') {
                c.p++;
                skip_ws(&c);
            } else if (c.p < c.end && *c.p == '}') {
                c.p++;
                break;
            } else {
                fail("expected ',' or '}' in the input object");
            }
        }
    skip_ws(&c);
    if (c.p != c.end) fail("the input object is followed by more text");
    if (!found) fail("the input needs a \"csv\" field");
    return csv;
}

/* --- CSV to JSON --------------------------------------------------------------------------------------------- */

static void put_json_string(buf *out, const buf *s) {
    put_char(out, '"');
    for (size_t i = 0; i < s->len; i++) {
        unsigned char ch = (unsigned char)s->data[i];
        switch (ch) {
        case '"': put(out, "\\\"", 2); break;
        case '\\': put(out, "\\\\", 2); break;
        case '\n': put(out, "\\n", 2); break;
        case '\r': put(out, "\\r", 2); break;
        case '\t': put(out, "\\t", 2); break;
        case '\b': put(out, "\\b", 2); break;
        case '\f': put(out, "\\f", 2); break;
        default:
            if (ch < 0x20) {
                char esc[7];
                snprintf(esc, sizeof esc, "\\u%04x", ch);
                put(out, esc, 6);
            } else {
                put_char(out, (char)ch);
            }
        }
    }
    put_char(out, '"');
}

/* Reads the field at c->p into `field`; returns what ended it: ',' (more fields), '\n' (end of record) or 0 (end of
 * the text). */
static int csv_field(cursor *c, buf *field, size_t record) {
    field->len = 0;
    if (c->p < c->end && *c->p == '"') {
        c->p++;
        for (;;) {
            if (c->p >= c->end) fail("record %zu: a quoted field is not closed", record);
            char ch = *c->p++;
            if (ch == '"') {
                if (c->p < c->end && *c->p == '"') {
                    put_char(field, '"');
                    c->p++;
                    continue;
                }
                break;
            }
            put_char(field, ch);
        }
        if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
            fail("record %zu: text after a closing quote", record);
    } else {
        while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
            if (*c->p == '"') fail("record %zu: a quote inside an unquoted field (quote the whole field)", record);
            put_char(field, *c->p++);
        }
    }
    if (c->p >= c->end) return 0;
    if (*c->p++ == ',') return ',';
    if (c->p[-1] == '\r' && c->p < c->end && *c->p == '\n') c->p++;
    return '\n';
}

static void skip_blank_lines(cursor *c) {
    while (c->p < c->end && (*c->p == '\n' || *c->p == '\r')) c->p++;
}

static void convert(const buf *csv, buf *out) {
    cursor c = {csv->data, csv->data + csv->len};
    buf field = {0}, *names = NULL;
    size_t columns = 0, record = 1, rows = 0;
    put(out, "{\"columns\":[", 12);
    skip_blank_lines(&c);
    for (int end = c.p < c.end ? ',' : 0; end == ',';) {
        end = csv_field(&c, &field, record);
        for (size_t i = 0; i < columns; i++)
            if (names[i].len == field.len && memcmp(names[i].data, field.data, field.len) == 0)
                fail("record 1: column %zu has the same name as column %zu", columns + 1, i + 1);
        names = grown(names, (columns + 1) * sizeof *names);
        names[columns] = (buf){0};
        put(&names[columns], field.data, field.len);
        if (columns++) put_char(out, ',');
        put_json_string(out, &field);
    }
    put(out, "],\"rows\":[", 10);
    for (;;) {
        skip_blank_lines(&c);
        if (c.p >= c.end) break;
        record++;
        if (rows++) put_char(out, ',');
        put_char(out, '{');
        size_t i = 0;
        for (int end = ','; end == ','; i++) {
            end = csv_field(&c, &field, record);
            if (i == columns) fail("record %zu has more fields than the header's %zu", record, columns);
            if (i) put_char(out, ',');
            put_json_string(out, &names[i]);
            put_char(out, ':');
            put_json_string(out, &field);
        }
        if (i != columns) fail("record %zu has %zu fields; the header has %zu", record, i, columns);
        put_char(out, '}');
    }
    put(out, "]}", 2);
    fprintf(stderr, "csv-to-json: %zu rows of %zu columns\n", rows, columns);
}

int main(void) {
    buf input = read_all(stdin);
    buf csv = csv_text(&input);
    buf out = {0};
    convert(&csv, &out);
    if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        fputs("csv-to-json: cannot write stdout\n", stderr);
        return 1;
    }
    return 0;
}
