/* targz: gzip members are inflated (RFC 1951, after the manner of zlib's
 * puff.c: canonical Huffman codes decoded bit by bit, a 32 KiB window)
 * into a tar reader that keeps only the file asked for. */
#include "targz.h"

#include <stdlib.h>
#include <string.h>

#include "crc.h"

#define BLOCK 512
#define WINDOW 32768
#define MAX_BITS 15

/* ---- the input ------------------------------------------------------------
 */

typedef struct source {
    sm_targz_read_fn read;
    void *ctx;
    unsigned char buf[16384];
    size_t len, pos;
    int eof, failed;
} source;

/* The next byte, or -1 at the end (failed says whether it was an error). */
static int src_byte(source *s)
{
    if (s->pos == s->len) {
        if (s->eof)
            return -1;
        ssize_t n = s->read(s->ctx, s->buf, sizeof s->buf);
        if (n <= 0) {
            s->eof = 1;
            s->failed = n < 0;
            return -1;
        }
        s->len = (size_t)n;
        s->pos = 0;
    }
    return s->buf[s->pos++];
}

/* ---- the tar reader -------------------------------------------------------
 */

typedef struct tar_reader {
    const char *want;
    uint64_t max;
    unsigned char header[BLOCK];
    size_t header_fill;
    uint64_t data_left, pad_left;
    int capture;  /* the current entry is the one wanted */
    int longname; /* the current entry is a GNU long name */
    int pax;      /* the current entry is a pax header ('x') */
    char next_name[1024];
    char *bytes;
    size_t len;
    int zero_blocks;
    int ended; /* past the end of the archive */
    int done;  /* found: the rest of the input is not needed */
    sm_error *err;
} tar_reader;

static uint64_t tar_octal(const unsigned char *p, size_t width)
{
    uint64_t v = 0;
    size_t i = 0;
    while (i < width && (p[i] == ' ' || p[i] == '\0'))
        i++;
    for (; i < width && p[i] >= '0' && p[i] <= '7'; i++)
        v = v * 8 + (uint64_t)(p[i] - '0');
    return v;
}

static int name_matches(const char *name, const char *want)
{
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    return strcmp(name, want) == 0;
}

/* A header block has arrived: decide what its data is for. */
static int tar_header(tar_reader *t)
{
    const unsigned char *h = t->header;
    int zero = 1;
    for (size_t i = 0; i < BLOCK && zero; i++)
        zero = h[i] == 0;
    if (zero) { /* two of them end the archive; the rest is ignored */
        t->ended = ++t->zero_blocks >= 2;
        return 0;
    }
    t->zero_blocks = 0;
    uint64_t sum = 0; /* the checksum counts its own field as spaces */
    for (size_t i = 0; i < BLOCK; i++)
        sum += i >= 148 && i < 156 ? ' ' : h[i];
    if (tar_octal(h + 148, 8) != sum)
        return sm_error_set(t->err, "the archive is not a tar file (a "
                                    "header's checksum does not match)");
    uint64_t size = tar_octal(h + 124, 12);
    char name[sizeof t->next_name];
    if (t->next_name[0]) {
        memcpy(name, t->next_name, sizeof name);
        t->next_name[0] = '\0';
    } else {
        char prefix[156] = "", base[101];
        if (!memcmp(h + 257, "ustar", 5) && h[345])
            memcpy(prefix, h + 345, 155);
        memcpy(base, h, 100);
        base[100] = '\0';
        strcpy(name, prefix);
        if (prefix[0])
            strcat(name, "/");
        strncat(name, base, sizeof name - strlen(name) - 1);
    }
    char type = (char)h[156];
    t->longname = type == 'L';
    t->pax = type == 'x';
    if ((type == '1' || type == '2') && name_matches(name, t->want))
        return sm_error_set(t->err, "%s in the archive is a link, not a file",
                            t->want);
    if ((t->longname || t->pax) && size >= sizeof t->next_name * 64)
        return sm_error_set(t->err, "the archive has a header too large to "
                                    "read");
    t->capture = (type == '0' || type == '\0') && name_matches(name, t->want);
    if (t->capture && size > t->max)
        return sm_error_set(t->err,
                            "%s in the archive is larger than %llu "
                            "bytes",
                            t->want, (unsigned long long)t->max);
    if (t->capture || t->longname || t->pax) {
        free(t->bytes);
        t->bytes = malloc((size_t)size + 1);
        t->len = 0;
        if (!t->bytes)
            return sm_error_set(t->err, "out of memory reading the archive");
        t->bytes[0] = '\0';
    }
    t->data_left = size;
    t->pad_left = (BLOCK - size % BLOCK) % BLOCK;
    return 0;
}

/* The "path" record of a pax header ("<len> path=<name>\n" records) as
 * the next entry's name. */
static void pax_path(tar_reader *t)
{
    const char *p = (const char *)t->bytes, *end = p + t->len;
    while (p < end) {
        char *sp = NULL;
        unsigned long n = strtoul(p, &sp, 10);
        if (!sp || *sp != ' ' || n == 0 || n > (size_t)(end - p))
            return;
        const char *rec = sp + 1, *rec_end = p + n - 1; /* before '\n' */
        size_t k = rec_end > rec + 5 ? (size_t)(rec_end - rec - 5) : 0;
        if (k && k < sizeof t->next_name && strncmp(rec, "path=", 5) == 0) {
            memcpy(t->next_name, rec + 5, k);
            t->next_name[k] = '\0';
        }
        p += n;
    }
}

/* An entry's data has all arrived. */
static void tar_entry_end(tar_reader *t)
{
    if (t->pax) {
        t->bytes[t->len] = '\0';
        pax_path(t);
        free(t->bytes);
        t->bytes = NULL;
        t->pax = 0;
    } else if (t->longname) {
        size_t n =
            t->len < sizeof t->next_name - 1 ? t->len : sizeof t->next_name - 1;
        memcpy(t->next_name, t->bytes, n);
        t->next_name[n] = '\0';
        free(t->bytes);
        t->bytes = NULL;
        t->longname = 0;
    } else if (t->capture) {
        t->bytes[t->len] = '\0';
        t->done = 1; /* found */
    }
}

/* Bytes of the tar stream: 0 to go on, 1 when done, -1 on an error. */
static int tar_feed(tar_reader *t, const unsigned char *p, size_t n)
{
    while (n && !t->done && !t->ended) {
        if (t->data_left) {
            size_t k = t->data_left < n ? (size_t)t->data_left : n;
            if (t->capture || t->longname || t->pax) {
                memcpy(t->bytes + t->len, p, k);
                t->len += k;
            }
            t->data_left -= k;
            p += k;
            n -= k;
            if (!t->data_left)
                tar_entry_end(t);
        } else if (t->pad_left) {
            size_t k = t->pad_left < n ? (size_t)t->pad_left : n;
            t->pad_left -= k;
            p += k;
            n -= k;
        } else {
            size_t k = BLOCK - t->header_fill < n ? BLOCK - t->header_fill : n;
            memcpy(t->header + t->header_fill, p, k);
            t->header_fill += k;
            p += k;
            n -= k;
            if (t->header_fill == BLOCK) {
                t->header_fill = 0;
                if (tar_header(t))
                    return -1;
                if (!t->data_left && t->capture)
                    tar_entry_end(t); /* an empty file */
            }
        }
    }
    return t->done ? 1 : 0;
}

/* ---- inflate --------------------------------------------------------------
 */

typedef struct inflater {
    source *src;
    uint32_t bitbuf;
    int bitcnt;
    unsigned char window[WINDOW];
    uint64_t total; /* bytes out so far */
    unsigned char out[8192];
    size_t out_len;
    uint32_t crc;
    tar_reader *tar;
    int stop; /* the tar reader is done (1) or failed (-1) */
    sm_error *err;
} inflater;

typedef struct huffman {
    short count[MAX_BITS + 1];
    short symbol[288];
} huffman;

static int bits(inflater *s, int need, int *out)
{
    uint32_t v = s->bitbuf;
    while (s->bitcnt < need) {
        int b = src_byte(s->src);
        if (b < 0)
            return -1;
        v |= (uint32_t)b << s->bitcnt;
        s->bitcnt += 8;
    }
    s->bitbuf = v >> need;
    s->bitcnt -= need;
    *out = (int)(v & ((1u << need) - 1));
    return 0;
}

static void flush(inflater *s)
{
    if (!s->out_len)
        return;
    s->crc = sm_crc32(s->crc, s->out, s->out_len);
    if (!s->stop) {
        int rc = tar_feed(s->tar, s->out, s->out_len);
        s->stop = rc;
    }
    s->out_len = 0;
}

static void put(inflater *s, unsigned char c)
{
    s->window[s->total++ % WINDOW] = c;
    s->out[s->out_len++] = c;
    if (s->out_len == sizeof s->out)
        flush(s);
}

static int damaged(inflater *s)
{
    return sm_error_set(s->err, s->src->failed
                                    ? "the archive could not be read"
                                    : "the archive is damaged (gzip data "
                                      "ends early or does not decode)");
}

static int stored(inflater *s)
{
    s->bitbuf = 0;
    s->bitcnt = 0;
    int b[4];
    for (int i = 0; i < 4; i++)
        if ((b[i] = src_byte(s->src)) < 0)
            return damaged(s);
    unsigned len = (unsigned)b[0] | (unsigned)b[1] << 8;
    unsigned nlen = (unsigned)b[2] | (unsigned)b[3] << 8;
    if (len != (~nlen & 0xffff))
        return damaged(s);
    while (len--) {
        int c = src_byte(s->src);
        if (c < 0)
            return damaged(s);
        put(s, (unsigned char)c);
    }
    return 0;
}

/* The canonical code of `n` lengths; 0, or -1 when over-subscribed. */
static int construct(huffman *h, const short *length, int n)
{
    short offs[MAX_BITS + 1];
    memset(h->count, 0, sizeof h->count);
    for (int i = 0; i < n; i++)
        h->count[length[i]]++;
    if (h->count[0] == n)
        return 0;
    int left = 1;
    for (int len = 1; len <= MAX_BITS; len++) {
        left <<= 1;
        left -= h->count[len];
        if (left < 0)
            return -1;
    }
    offs[1] = 0;
    for (int len = 1; len < MAX_BITS; len++)
        offs[len + 1] = (short)(offs[len] + h->count[len]);
    for (int i = 0; i < n; i++)
        if (length[i])
            h->symbol[offs[length[i]]++] = (short)i;
    return 0;
}

static int decode(inflater *s, const huffman *h)
{
    int code = 0, first = 0, index = 0;
    for (int len = 1; len <= MAX_BITS; len++) {
        int bit;
        if (bits(s, 1, &bit))
            return -1;
        code |= bit;
        int count = h->count[len];
        if (code - count < first)
            return h->symbol[index + (code - first)];
        index += count;
        first += count;
        first <<= 1;
        code <<= 1;
    }
    return -1;
}

static const short len_base[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                   15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                   67, 83, 99, 115, 131, 163, 195, 227, 258};
static const short len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                    2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const short dist_base[30] = {
    1,    2,    3,    4,    5,    7,    9,    13,    17,    25,
    33,   49,   65,   97,   129,  193,  257,  385,   513,   769,
    1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const short dist_extra[30] = {0, 0, 0,  0,  1,  1,  2,  2,  3,  3,
                                     4, 4, 5,  5,  6,  6,  7,  7,  8,  8,
                                     9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static int codes(inflater *s, const huffman *lencode, const huffman *distcode)
{
    for (;;) {
        int sym = decode(s, lencode);
        if (sym < 0)
            return damaged(s);
        if (sym < 256) {
            put(s, (unsigned char)sym);
        } else if (sym == 256) {
            return 0;
        } else {
            sym -= 257;
            int extra, dsym, dextra;
            if (sym >= 29 || bits(s, len_extra[sym], &extra))
                return damaged(s);
            int len = len_base[sym] + extra;
            dsym = decode(s, distcode);
            if (dsym < 0 || dsym >= 30 || bits(s, dist_extra[dsym], &dextra))
                return damaged(s);
            uint64_t dist = (uint64_t)(dist_base[dsym] + dextra);
            if (dist > s->total || dist > WINDOW)
                return damaged(s);
            while (len--)
                put(s, s->window[(s->total - dist) % WINDOW]);
        }
        if (s->stop)
            return 0;
    }
}

static int fixed(inflater *s)
{
    huffman lencode, distcode;
    short lengths[288];
    int i = 0;
    for (; i < 144; i++)
        lengths[i] = 8;
    for (; i < 256; i++)
        lengths[i] = 9;
    for (; i < 280; i++)
        lengths[i] = 7;
    for (; i < 288; i++)
        lengths[i] = 8;
    construct(&lencode, lengths, 288);
    for (i = 0; i < 30; i++)
        lengths[i] = 5;
    construct(&distcode, lengths, 30);
    return codes(s, &lencode, &distcode);
}

static int dynamic(inflater *s)
{
    static const short order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                    11, 4,  12, 3, 13, 2, 14, 1, 15};
    short lengths[320];
    huffman lencode, distcode;
    int nlen, ndist, ncode, v;
    if (bits(s, 5, &nlen) || bits(s, 5, &ndist) || bits(s, 4, &ncode))
        return damaged(s);
    nlen += 257;
    ndist += 1;
    ncode += 4;
    if (nlen > 286 || ndist > 30)
        return damaged(s);
    int index;
    for (index = 0; index < ncode; index++) {
        if (bits(s, 3, &v))
            return damaged(s);
        lengths[order[index]] = (short)v;
    }
    for (; index < 19; index++)
        lengths[order[index]] = 0;
    if (construct(&lencode, lengths, 19))
        return damaged(s);
    for (index = 0; index < nlen + ndist;) {
        int sym = decode(s, &lencode);
        if (sym < 0)
            return damaged(s);
        if (sym < 16) {
            lengths[index++] = (short)sym;
            continue;
        }
        short len = 0;
        int rep;
        if (sym == 16) {
            if (index == 0 || bits(s, 2, &rep))
                return damaged(s);
            len = lengths[index - 1];
            rep += 3;
        } else if (sym == 17) {
            if (bits(s, 3, &rep))
                return damaged(s);
            rep += 3;
        } else {
            if (bits(s, 7, &rep))
                return damaged(s);
            rep += 11;
        }
        if (index + rep > nlen + ndist)
            return damaged(s);
        while (rep--)
            lengths[index++] = len;
    }
    if (lengths[256] == 0 || construct(&lencode, lengths, nlen) ||
        construct(&distcode, lengths + nlen, ndist))
        return damaged(s);
    return codes(s, &lencode, &distcode);
}

/* One deflate stream, block by block, until its last or the tar reader
 * has what it wanted. */
static int inflate_stream(inflater *s)
{
    int last = 0;
    while (!last && !s->stop) {
        int type, rc;
        if (bits(s, 1, &last) || bits(s, 2, &type))
            return damaged(s);
        if (type == 0)
            rc = stored(s);
        else if (type == 1)
            rc = fixed(s);
        else if (type == 2)
            rc = dynamic(s);
        else
            rc = damaged(s);
        if (rc)
            return -1;
    }
    flush(s);
    return 0;
}

/* ---- gzip members ---------------------------------------------------------
 */

static int skip_bytes(source *src, size_t n)
{
    while (n--)
        if (src_byte(src) < 0)
            return -1;
    return 0;
}

static int skip_string(source *src)
{
    int c;
    while ((c = src_byte(src)) > 0)
        ;
    return c < 0 ? -1 : 0;
}

/* The rest of a gzip header after its two magic bytes. */
static int gzip_header(source *src, sm_error *err)
{
    int method = src_byte(src), flags = src_byte(src);
    if (method != 8 || flags < 0 || skip_bytes(src, 6))
        return sm_error_set(err, "the archive is not gzip data it can read");
    if (flags & 4) {
        int lo = src_byte(src), hi = src_byte(src);
        if (lo < 0 || hi < 0 || skip_bytes(src, (size_t)(lo | hi << 8)))
            return sm_error_set(err, "the archive's gzip header is cut short");
    }
    if (((flags & 8) && skip_string(src)) ||
        ((flags & 16) && skip_string(src)) ||
        ((flags & 2) && skip_bytes(src, 2)))
        return sm_error_set(err, "the archive's gzip header is cut short");
    return 0;
}

static int gzip_member(inflater *s)
{
    if (gzip_header(s->src, s->err))
        return -1;
    s->bitbuf = 0;
    s->bitcnt = 0;
    s->crc = 0;
    if (inflate_stream(s))
        return -1;
    if (s->stop)
        return 0;
    unsigned char tail[8];
    s->bitbuf = 0;
    s->bitcnt = 0;
    for (int i = 0; i < 8; i++) {
        int c = src_byte(s->src);
        if (c < 0)
            return damaged(s);
        tail[i] = (unsigned char)c;
    }
    uint32_t crc = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 |
                   (uint32_t)tail[2] << 16 | (uint32_t)tail[3] << 24;
    if (crc != s->crc)
        return sm_error_set(s->err, "the archive is damaged (its gzip CRC "
                                    "does not match)");
    return 0;
}

static int read_gzip(inflater *s)
{
    for (;;) {
        if (gzip_member(s))
            return -1;
        if (s->stop)
            return 0;
        int a = src_byte(s->src);
        if (a < 0)
            return s->src->failed ? damaged(s) : 0;
        int b = src_byte(s->src);
        if (a != 0x1f || b != 0x8b)
            return 0; /* trailing bytes after the last member */
    }
}

static int read_plain(source *src, tar_reader *t, int a, int b)
{
    unsigned char first[2] = {(unsigned char)a, (unsigned char)b};
    int rc = tar_feed(t, first, 2);
    while (rc == 0) {
        if (src->pos == src->len) {
            if (src_byte(src) < 0)
                break;
            src->pos--; /* refilled: give the byte back */
        }
        rc = tar_feed(t, src->buf + src->pos, src->len - src->pos);
        src->pos = src->len;
    }
    if (src->failed)
        return sm_error_set(t->err, "the archive could not be read");
    return rc < 0 ? -1 : 0;
}

int sm_targz_extract(sm_targz_read_fn read, void *ctx, const char *name,
                     uint64_t max, char **bytes, size_t *len, sm_error *err)
{
    *bytes = NULL;
    *len = 0;
    source *src = calloc(1, sizeof *src);
    inflater *s = calloc(1, sizeof *s);
    tar_reader tar = {.want = name, .max = max, .err = err};
    int rc = src && s ? 0 : sm_error_set(err, "out of memory");
    if (!rc) {
        *src = (source){.read = read, .ctx = ctx};
        int a = src_byte(src), b = src_byte(src);
        if (a == 0x1f && b == 0x8b) {
            *s = (inflater){.src = src, .tar = &tar, .err = err};
            rc = read_gzip(s);
            if (!rc && s->stop < 0)
                rc = -1;
        } else if (a >= 0 && b >= 0) {
            rc = read_plain(src, &tar, a, b);
        } else {
            rc = sm_error_set(err, src->failed ? "the archive could not be "
                                                 "read"
                                               : "the archive is empty");
        }
    }
    free(s);
    free(src);
    if (!rc && tar.done) {
        *bytes = tar.bytes;
        *len = tar.len;
        return 0;
    }
    free(tar.bytes);
    return rc ? -1 : 1;
}
