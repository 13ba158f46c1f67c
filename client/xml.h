/* xml: a small non-validating XML reader for S3 and STS responses, and the
 * escape function request bodies are built with. */
#ifndef SM_XML_H
#define SM_XML_H

#include <stddef.h>

#include "error.h"

/* One element: its name, its text, its child elements. Opaque. */
typedef struct sm_xml_node sm_xml_node;

#define SM_XML_MAX_DEPTH 64          /* nesting of elements */
#define SM_XML_MAX_INPUT (64u << 20) /* bytes of one document */

/* Parse the `len` bytes of `text` (borrowed; need not be NUL-terminated)
 * and return the new root element, or NULL with `err` set when the input
 * is malformed, too deep, too large or holds a DOCTYPE.
 *
 * What is kept: elements, and their text with the five predefined entities
 * and numeric character references decoded, CDATA sections as text, and
 * line ends normalised to "\n". What is dropped: attributes, comments,
 * processing instructions, the XML declaration, a UTF-8 byte-order mark.
 * Names are local names: a namespace prefix ("s3:Key") is stripped, so
 * lookups never mention one (the close tag must still match exactly).
 * Free with sm_xml_free. */
sm_xml_node *sm_xml_parse(const char *text, size_t len, sm_error *err);

/* Free the tree and set *root to NULL; safe on NULL. */
void sm_xml_free(sm_xml_node **root);

/* The element's local name (borrowed), or NULL for a NULL node. */
const char *sm_xml_name(const sm_xml_node *node);

/* The element's own text: every text and CDATA piece directly inside it,
 * joined, not its children's ("" for none; NULL for a NULL node).
 * Whitespace is kept as it came. Borrowed. */
const char *sm_xml_text(const sm_xml_node *node);

/* The first child element named `name` (borrowed), or NULL. A NULL node
 * gives NULL, so lookups can be chained. */
const sm_xml_node *sm_xml_child(const sm_xml_node *node, const char *name);

/* The next sibling of `node` with the same name, or NULL. With
 * sm_xml_child it walks repeated elements:
 *   for (c = sm_xml_child(r, "Contents"); c; c = sm_xml_next(c)) ... */
const sm_xml_node *sm_xml_next(const sm_xml_node *node);

/* Every child in order, whatever its name: the first one, then the one
 * after `node`. NULL at the end. Borrowed. */
const sm_xml_node *sm_xml_first_child(const sm_xml_node *node);
const sm_xml_node *sm_xml_next_sibling(const sm_xml_node *node);

/* Text of the first child named `name`, or NULL when there is none. */
const char *sm_xml_child_text(const sm_xml_node *node, const char *name);

/* Follow a path of child names separated by '/' ("Error/Code") from
 * `node`. Borrowed, or NULL when a step is missing. */
const sm_xml_node *sm_xml_path(const sm_xml_node *node, const char *path);

/* New copy of `s` fit for XML text or a quoted attribute: & < > " ' and
 * carriage returns become references. NULL when `s` is NULL or out of
 * memory. */
char *sm_xml_escape(const char *s);

#endif
