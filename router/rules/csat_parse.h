/*
 * csat_parse.h - reading a satisfaction rating in a customer's text
 * (router/rules/csat.c; docs/reports.md). Pure: no state, any thread.
 */
#ifndef GW_CSAT_PARSE_H
#define GW_CSAT_PARSE_H

/*
 * csat_parse_rating - the score of a text (NUL-terminated, borrowed) that
 * starts, after blanks, with a lone digit 1 to 5 ("4", "4/5", "5 great
 * help", "2: too slow"), and in *comment where the comment starts (inside
 * `text`, "" when none; punctuation and blanks after the digit skipped).
 * 0, *comment untouched, when the text is no rating ("10", "3pm", "4/10",
 * "ok").
 */
unsigned csat_parse_rating(const char *text, const char **comment);

#endif
