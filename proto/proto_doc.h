/*
 * proto_doc.h - the field tables of docs/events.md, generated from the one
 * schema declaration (proto/schema.def): key, kind, required and limit from
 * its columns, the meaning from its `doc` column. The page's prose lives in
 * the page; each table sits between two marker lines
 *
 *   <!-- fields:party -->
 *   ...generated...
 *   <!-- end -->
 *
 * and everything between them is replaced when the page is generated again
 * (gateway-schema-doc, test unit.events_doc). Every object of the schema
 * has exactly one table in the page.
 *
 * Threading: reentrant; the tables are constant.
 */
#ifndef GW_PROTO_DOC_H
#define GW_PROTO_DOC_H

#include <stddef.h>
#include <stdio.h>

/* The marker lines around an object's table (a line is exactly this). */
#define PROTO_DOC_BEGIN "<!-- fields:"
#define PROTO_DOC_BEGIN_TAIL " -->"
#define PROTO_DOC_END "<!-- end -->"

/*
 * proto_doc_tables - writes every object's table, each between its marker
 * lines, in schema order, to `out`: the blocks to place in a new page.
 * `err` (errlen bytes, may be NULL) receives what went wrong.
 * GW_OK; GW_EINVAL (a value of a field's value set is not named as `value`
 * in its meaning: the meaning must list what a consumer may receive);
 * GW_EIO (writing `out` failed).
 */
int proto_doc_tables(FILE *out, char *err, size_t errlen);

/*
 * proto_doc_page - writes `page` (`len` bytes, borrowed: docs/events.md)
 * to `out`, with the lines between each `<!-- fields:OBJ -->` and the next
 * `<!-- end -->` replaced by OBJ's table; every other line is copied as it
 * is. `err` as above, naming the page's line.
 * GW_OK; GW_EINVAL (an unknown object, a block without its end, an object
 * with no table or with two, a value not named in its meaning); GW_EIO.
 * On an error `out` holds a part of the page: discard it.
 */
int proto_doc_page(FILE *out, const char *page, size_t len, char *err, size_t errlen);

#endif
