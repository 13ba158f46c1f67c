/* tarwriter: ustar headers and file bytes flow through a gzip writer that
 * cuts them into stored deflate blocks and keeps the CRC-32 and length
 * for the trailer. */
#include "tarwriter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc.h"

#define BLOCK 512
#define STORED_MAX 65535 /* bytes in one stored deflate block */

/* The gzip member being written: input is buffered into whole stored
 * blocks; the final block is marked when the member closes. */
typedef struct gz_writer {
    FILE *out;
    uint32_t crc;
    uint32_t size; /* input bytes, mod 2^32 as gzip keeps it */
    unsigned char buf[STORED_MAX];
    size_t used;
    int failed;
} gz_writer;

static void put_le16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)((v >> (8 * i)) & 0xff);
}

static void gz_block(gz_writer *gz, int final)
{
    unsigned char head[5];
    head[0] = final ? 1 : 0; /* BFINAL, BTYPE 00: stored */
    put_le16(head + 1, (unsigned)gz->used);
    put_le16(head + 3, (unsigned)(~gz->used & 0xffff));
    if (fwrite(head, 1, 5, gz->out) != 5 ||
        fwrite(gz->buf, 1, gz->used, gz->out) != gz->used)
        gz->failed = 1;
    gz->used = 0;
}

static void gz_begin(gz_writer *gz, FILE *out, time_t mtime)
{
    *gz = (gz_writer){.out = out};
    unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    put_le32(head + 4, (uint32_t)mtime);
    if (fwrite(head, 1, sizeof head, out) != sizeof head)
        gz->failed = 1;
}

static void gz_write(gz_writer *gz, const void *data, size_t len)
{
    const unsigned char *p = data;
    gz->crc = sm_crc32(gz->crc, data, len);
    gz->size += (uint32_t)len;
    while (len) {
        if (gz->used == STORED_MAX)
            gz_block(gz, 0);
        size_t n = STORED_MAX - gz->used;
        n = n < len ? n : len;
        memcpy(gz->buf + gz->used, p, n);
        gz->used += n;
        p += n;
        len -= n;
    }
}

static void gz_end(gz_writer *gz)
{
    gz_block(gz, 1);
    unsigned char tail[8];
    put_le32(tail, gz->crc);
    put_le32(tail + 4, gz->size);
    if (fwrite(tail, 1, sizeof tail, gz->out) != sizeof tail)
        gz->failed = 1;
}

/* ---- tar ---------------------------------------------------------------- */

static void octal(char *field, size_t width, unsigned long long v)
{
    snprintf(field, width, "%0*llo", (int)width - 1, v);
}

static void tar_header(unsigned char block[BLOCK], const char *name,
                       unsigned long long size, time_t mtime)
{
    char *h = (char *)block;
    memset(block, 0, BLOCK);
    memcpy(h, name, strlen(name)); /* 0: name[100] */
    octal(h + 100, 8, 0644);       /* mode */
    octal(h + 108, 8, 0);          /* uid */
    octal(h + 116, 8, 0);          /* gid */
    octal(h + 124, 12, size);      /* size */
    octal(h + 136, 12, (unsigned long long)mtime);
    memset(h + 148, ' ', 8);     /* chksum, blank while summing */
    h[156] = '0';                /* typeflag: a regular file */
    memcpy(h + 257, "ustar", 6); /* magic "ustar\0" */
    memcpy(h + 263, "00", 2);    /* version */
    memcpy(h + 265, "root", 4);  /* uname */
    memcpy(h + 297, "root", 4);  /* gname */
    unsigned sum = 0;
    for (size_t i = 0; i < BLOCK; i++)
        sum += block[i];
    snprintf(h + 148, 8, "%06o", sum); /* six digits, NUL, then a space */
    h[155] = ' ';
}

static int add_file(gz_writer *gz, const sm_tarwriter_entry *e, time_t mtime,
                    sm_error *err)
{
    if (strlen(e->name) == 0 || strlen(e->name) > 100)
        return sm_error_set(err,
                            "cannot pack '%s': a name of 1 to 100 bytes "
                            "is needed",
                            e->name);
    FILE *in = fopen(e->path, "rb");
    struct stat st;
    if (!in || fstat(fileno(in), &st) != 0) {
        if (in)
            fclose(in);
        return sm_error_set(err, "cannot read %s: %s", e->path,
                            strerror(errno));
    }
    unsigned char block[BLOCK];
    tar_header(block, e->name, (unsigned long long)st.st_size, mtime);
    gz_write(gz, block, BLOCK);
    unsigned long long total = 0;
    size_t n;
    unsigned char chunk[16384];
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0) {
        gz_write(gz, chunk, n);
        total += n;
    }
    int bad = ferror(in) || total != (unsigned long long)st.st_size;
    fclose(in);
    if (bad)
        return sm_error_set(err,
                            "cannot read %s: it changed while being "
                            "packed",
                            e->path);
    memset(block, 0, BLOCK);
    if (total % BLOCK)
        gz_write(gz, block, BLOCK - total % BLOCK);
    return 0;
}

int sm_tarwriter_write(const char *out_path, const sm_tarwriter_entry *entries,
                       size_t count, time_t mtime, sm_error *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.partial", out_path);
    FILE *out = fopen(tmp, "wb");
    if (!out)
        return sm_error_set(err, "cannot write %s: %s", tmp, strerror(errno));
    gz_writer *gz = malloc(sizeof *gz);
    int rc = gz ? 0 : sm_error_set(err, "out of memory");
    if (!rc) {
        gz_begin(gz, out, mtime);
        for (size_t i = 0; !rc && i < count; i++)
            rc = add_file(gz, &entries[i], mtime, err);
        unsigned char zeros[2 * BLOCK] = {0}; /* the end of the archive */
        gz_write(gz, zeros, sizeof zeros);
        gz_end(gz);
        if (!rc && gz->failed)
            rc = sm_error_set(err, "cannot write %s: %s", tmp, strerror(errno));
    }
    free(gz);
    if (fflush(out) != 0 || fsync(fileno(out)) != 0)
        rc = rc ? rc : sm_error_set(err, "cannot write %s", tmp);
    fclose(out);
    if (!rc && rename(tmp, out_path) != 0)
        rc = sm_error_set(err, "cannot rename %s: %s", tmp, strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}
