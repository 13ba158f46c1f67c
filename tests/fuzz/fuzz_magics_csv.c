/* fuzz_magics_csv: libFuzzer target for sm_csv_parse, %prepare's CSV
 * reader. Each row read must have the header's number of fields, row
 * lines must grow, and a field may hold a line end only where the text
 * had a quote.
 * Build: make fuzz (clang -fsanitize=fuzzer,address,undefined with
 * common/ and magics/csv.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is a finding: stop so libFuzzer keeps the input. */
static void require(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_magics_csv: invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    int quoted = memchr(data, '"', size) != NULL;
    sm_csv csv;
    sm_error err = {""};
    if (sm_csv_parse(text, "fuzz.csv", &csv, &err) != 0) {
        require(err.message[0] != '\0', "a failure without a message");
        return 0;
    }
    require(csv.count == csv.rows * csv.columns, "rows of unequal length");
    for (size_t r = 0; r < csv.rows; r++) {
        require(r == 0 || csv.lines[r] > csv.lines[r - 1], "lines go back");
        for (size_t c = 0; c < csv.columns; c++) {
            const char *f = sm_csv_field(&csv, r, c);
            require(f >= csv.text && f < csv.text + size + 1,
                    "a field outside the text");
            require(quoted || !strpbrk(f, "\r\n,"),
                    "a separator in an unquoted field");
        }
    }
    sm_csv_clear(&csv);
    return 0;
}
