/* xml: one pass over the bytes with an explicit stack of open elements;
 * every malformed input ends in an error, never in a read past the end. */
#include "xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

struct sm_xml_node {
    char *qname;      /* as written, prefix and all (close tags match it) */
    const char *name; /* the local part, inside qname */
    sm_buf text;
    sm_xml_node *first, *last, *next;
};

typedef struct parser {
    const char *s;
    size_t len, pos;
    sm_xml_node *stack[SM_XML_MAX_DEPTH];
    int depth;
    sm_error *err;
} parser;

/* ---- small helpers ------------------------------------------------------ */

static int at(const parser *p, const char *lit)
{
    size_t n = strlen(lit);
    return p->len - p->pos >= n && memcmp(p->s + p->pos, lit, n) == 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_space(parser *p)
{
    while (p->pos < p->len && is_space(p->s[p->pos]))
        p->pos++;
}

static int name_char(char c)
{
    return c && !is_space(c) && !strchr("/>=<\"'&?!", c);
}

/* Move past the next `end` (from the current position); -1 when absent. */
static int skip_past(parser *p, const char *end, const char *what)
{
    size_t n = strlen(end);
    for (size_t i = p->pos; i + n <= p->len; i++) {
        if (memcmp(p->s + i, end, n) == 0) {
            p->pos = i + n;
            return 0;
        }
    }
    return sm_error_set(p->err, "XML: unterminated %s", what);
}

/* Read a name at the current position; its length in *n. */
static int read_name(parser *p, const char **start, size_t *n)
{
    *start = p->s + p->pos;
    while (p->pos < p->len && name_char(p->s[p->pos]))
        p->pos++;
    *n = (size_t)(p->s + p->pos - *start);
    if (*n == 0 || strchr("-.0123456789", **start))
        return sm_error_set(p->err, "XML: bad element name at byte %zu",
                            (size_t)(*start - p->s));
    return 0;
}

/* ---- text --------------------------------------------------------------- */

static int put_utf8(sm_buf *b, uint32_t cp)
{
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | cp >> 18);
        out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return sm_buf_append(b, out, n);
}

/* "&#65;" or "&#x41;": the code point, or -1 when it is no character. */
static long char_ref(const char *s, size_t n)
{
    int hex = n > 0 && s[0] == 'x';
    size_t i = hex ? 1 : 0;
    long cp = 0;
    if (i == n || n > 9)
        return -1;
    for (; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'          ? c - '0'
                : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                              : -1;
        if (d < 0)
            return -1;
        cp = cp * (hex ? 16 : 10) + d;
    }
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    return cp;
}

static const struct {
    const char *name;
    char c;
} entities[] = {
    {"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};

/* Decode one reference starting at the '&' into `b`. */
static int reference(parser *p, sm_buf *b)
{
    size_t start = ++p->pos, n;
    while (p->pos < p->len && p->s[p->pos] != ';' && p->pos - start < 12)
        p->pos++;
    if (p->pos >= p->len || p->s[p->pos] != ';')
        return sm_error_set(p->err, "XML: bad reference at byte %zu",
                            start - 1);
    n = p->pos++ - start;
    const char *ref = p->s + start;
    if (n > 1 && ref[0] == '#') {
        long cp = char_ref(ref + 1, n - 1);
        if (cp < 0)
            return sm_error_set(
                p->err, "XML: bad character reference at byte %zu", start - 1);
        return put_utf8(b, (uint32_t)cp);
    }
    for (size_t i = 0; i < sizeof entities / sizeof entities[0]; i++) {
        if (strlen(entities[i].name) == n &&
            memcmp(entities[i].name, ref, n) == 0)
            return sm_buf_putc(b, entities[i].c);
    }
    return sm_error_set(p->err, "XML: unknown entity '&%.*s;'", (int)n, ref);
}

/* Append s[from, to) with "\r\n" and a lone "\r" made "\n". */
static int put_lines(sm_buf *b, const char *s, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        char c = s[i];
        if (c == '\r' && i + 1 < to && s[i + 1] == '\n')
            continue;
        if (sm_buf_putc(b, c == '\r' ? '\n' : c))
            return -1;
    }
    return 0;
}

/* Character data up to the next '<'; outside the root only whitespace. */
static int text(parser *p)
{
    sm_xml_node *open = p->depth ? p->stack[p->depth - 1] : NULL;
    while (p->pos < p->len && p->s[p->pos] != '<') {
        char c = p->s[p->pos];
        if (!open && !is_space(c))
            return sm_error_set(p->err,
                                "XML: text outside the root element at "
                                "byte %zu",
                                p->pos);
        if (!open) {
            p->pos++;
            continue;
        }
        if (c == '\0')
            return sm_error_set(p->err, "XML: NUL byte at %zu", p->pos);
        if (c == '&') {
            if (reference(p, &open->text))
                return -1;
            continue;
        }
        size_t from = p->pos;
        while (p->pos < p->len && !strchr("<&", p->s[p->pos]) &&
               p->s[p->pos] != '\0')
            p->pos++;
        if (put_lines(&open->text, p->s, from, p->pos))
            return sm_error_set(p->err, "XML: out of memory");
    }
    return 0;
}

static int cdata(parser *p)
{
    sm_xml_node *open = p->depth ? p->stack[p->depth - 1] : NULL;
    if (!open)
        return sm_error_set(p->err, "XML: CDATA outside the root element");
    size_t from = p->pos += strlen("<![CDATA[");
    if (skip_past(p, "]]>", "CDATA section"))
        return -1;
    if (put_lines(&open->text, p->s, from, p->pos - 3))
        return sm_error_set(p->err, "XML: out of memory");
    return 0;
}

/* ---- tags --------------------------------------------------------------- */

/* Skip attributes up to '>' or "/>"; *empty set for "/>". */
static int attributes(parser *p, int *empty)
{
    for (;;) {
        skip_space(p);
        if (at(p, "/>") || at(p, ">")) {
            *empty = p->s[p->pos] == '/';
            p->pos += *empty ? 2 : 1;
            return 0;
        }
        const char *name;
        size_t n;
        if (read_name(p, &name, &n))
            return -1;
        skip_space(p);
        if (!at(p, "="))
            return sm_error_set(p->err, "XML: attribute without a value");
        p->pos++;
        skip_space(p);
        if (!at(p, "\"") && !at(p, "'"))
            return sm_error_set(p->err, "XML: unquoted attribute value");
        char quote[2] = {p->s[p->pos++], '\0'};
        if (skip_past(p, quote, "attribute value"))
            return -1;
    }
}

static sm_xml_node *node_new(const char *qname, size_t n)
{
    sm_xml_node *node = calloc(1, sizeof *node);
    if (!node || !(node->qname = malloc(n + 1))) {
        free(node);
        return NULL;
    }
    memcpy(node->qname, qname, n);
    node->qname[n] = '\0';
    const char *colon = strrchr(node->qname, ':');
    node->name = colon && colon[1] ? colon + 1 : node->qname;
    return node;
}

static void node_append(sm_xml_node *parent, sm_xml_node *child)
{
    if (parent->last)
        parent->last->next = child;
    else
        parent->first = child;
    parent->last = child;
}

static int open_tag(parser *p, sm_xml_node **root)
{
    const char *name;
    size_t n;
    int empty = 0;
    p->pos++;
    if (*root && p->depth == 0)
        return sm_error_set(p->err, "XML: more than one root element");
    if (p->depth == SM_XML_MAX_DEPTH)
        return sm_error_set(p->err, "XML: nested deeper than %d elements",
                            SM_XML_MAX_DEPTH);
    if (read_name(p, &name, &n))
        return -1;
    sm_xml_node *node = node_new(name, n);
    if (!node)
        return sm_error_set(p->err, "XML: out of memory");
    if (p->depth)
        node_append(p->stack[p->depth - 1], node);
    else
        *root = node;
    if (attributes(p, &empty))
        return -1;
    if (!empty)
        p->stack[p->depth++] = node;
    return 0;
}

static int close_tag(parser *p)
{
    const char *name;
    size_t n;
    p->pos += 2;
    if (read_name(p, &name, &n))
        return -1;
    skip_space(p);
    if (!at(p, ">"))
        return sm_error_set(p->err, "XML: bad close tag at byte %zu", p->pos);
    p->pos++;
    sm_xml_node *open = p->depth ? p->stack[p->depth - 1] : NULL;
    if (!open || strlen(open->qname) != n || memcmp(open->qname, name, n))
        return sm_error_set(p->err, "XML: </%.*s> closes %s%s%s", (int)n, name,
                            open ? "<" : "nothing", open ? open->qname : "",
                            open ? ">" : "");
    p->depth--;
    return 0;
}

/* One piece of markup starting at '<'. */
static int markup(parser *p, sm_xml_node **root)
{
    if (at(p, "<!--"))
        return skip_past(p, "-->", "comment");
    if (at(p, "<![CDATA["))
        return cdata(p);
    if (at(p, "<?"))
        return skip_past(p, "?>", "processing instruction");
    if (at(p, "<!"))
        return sm_error_set(p->err, "XML: DOCTYPE and other declarations "
                                    "are not supported");
    if (at(p, "</"))
        return close_tag(p);
    return open_tag(p, root);
}

/* ---- public ------------------------------------------------------------- */

sm_xml_node *sm_xml_parse(const char *text_in, size_t len, sm_error *err)
{
    parser p = {.s = text_in, .len = len, .err = err};
    sm_xml_node *root = NULL;
    int rc = 0;
    if (!text_in)
        rc = sm_error_set(err, "XML: no input");
    else if (len > SM_XML_MAX_INPUT)
        rc = sm_error_set(err, "XML: document over %u MiB",
                          SM_XML_MAX_INPUT >> 20);
    if (!rc && at(&p, "\xEF\xBB\xBF"))
        p.pos = 3;
    while (!rc && p.pos < p.len)
        rc = p.s[p.pos] == '<' ? markup(&p, &root) : text(&p);
    if (!rc && p.depth)
        rc = sm_error_set(err, "XML: <%s> is not closed",
                          p.stack[p.depth - 1]->qname);
    if (!rc && !root)
        rc = sm_error_set(err, "XML: no root element");
    if (rc)
        sm_xml_free(&root);
    return root;
}

static void node_free(sm_xml_node *node)
{
    while (node) {
        sm_xml_node *next = node->next;
        node_free(node->first);
        sm_buf_free(&node->text);
        free(node->qname);
        free(node);
        node = next;
    }
}

void sm_xml_free(sm_xml_node **root)
{
    if (!root)
        return;
    node_free(*root);
    *root = NULL;
}

const char *sm_xml_name(const sm_xml_node *node)
{
    return node ? node->name : NULL;
}

const char *sm_xml_text(const sm_xml_node *node)
{
    return node ? sm_buf_str(&node->text) : NULL;
}

static const sm_xml_node *named_from(const sm_xml_node *node, const char *name,
                                     size_t n)
{
    for (; node; node = node->next) {
        if (strlen(node->name) == n && memcmp(node->name, name, n) == 0)
            return node;
    }
    return NULL;
}

const sm_xml_node *sm_xml_child(const sm_xml_node *node, const char *name)
{
    return node && name ? named_from(node->first, name, strlen(name)) : NULL;
}

const sm_xml_node *sm_xml_next(const sm_xml_node *node)
{
    return node ? named_from(node->next, node->name, strlen(node->name)) : NULL;
}

const sm_xml_node *sm_xml_first_child(const sm_xml_node *node)
{
    return node ? node->first : NULL;
}

const sm_xml_node *sm_xml_next_sibling(const sm_xml_node *node)
{
    return node ? node->next : NULL;
}

const char *sm_xml_child_text(const sm_xml_node *node, const char *name)
{
    return sm_xml_text(sm_xml_child(node, name));
}

const sm_xml_node *sm_xml_path(const sm_xml_node *node, const char *path)
{
    while (node && path && *path) {
        const char *slash = strchr(path, '/');
        size_t n = slash ? (size_t)(slash - path) : strlen(path);
        node = named_from(node->first, path, n);
        path = slash ? slash + 1 : NULL;
    }
    return node;
}

char *sm_xml_escape(const char *s)
{
    if (!s)
        return NULL;
    sm_buf b = {0};
    int rc = sm_buf_puts(&b, "");
    for (; !rc && *s; s++) {
        switch (*s) {
        case '&':
            rc = sm_buf_puts(&b, "&amp;");
            break;
        case '<':
            rc = sm_buf_puts(&b, "&lt;");
            break;
        case '>':
            rc = sm_buf_puts(&b, "&gt;");
            break;
        case '"':
            rc = sm_buf_puts(&b, "&quot;");
            break;
        case '\'':
            rc = sm_buf_puts(&b, "&apos;");
            break;
        case '\r':
            rc = sm_buf_puts(&b, "&#13;");
            break;
        default:
            rc = sm_buf_putc(&b, *s);
            break;
        }
    }
    if (rc) {
        sm_buf_free(&b);
        return NULL;
    }
    return sm_buf_take(&b);
}
