/*
 * keywords.c - the one keyword table.
 *
 * It feeds the lexer (pc_keyword_lookup), the names of keyword tokens in
 * syntax errors, `pipec --list-keywords`, and the test that checks that the
 * editor syntax files in editors/ list exactly these words.
 */
#include "internal.h"
#include "parser.h"

#include <string.h>

const pc_keyword pc_keyword_table[] = {
	{"import", KW_IMPORT},     {"as", KW_AS},       {"type", KW_TYPE},
	{"record", KW_RECORD},     {"enum", KW_ENUM},   {"stage", KW_STAGE},
	{"pipeline", KW_PIPELINE}, {"test", KW_TEST},   {"let", KW_LET},
	{"return", KW_RETURN},     {"if", KW_IF},       {"else", KW_ELSE},
	{"for", KW_FOR},           {"in", KW_IN},       {"where", KW_WHERE},
	{"require", KW_REQUIRE},   {"try", KW_TRY},     {"after", KW_AFTER},
	{"mock", KW_MOCK},         {"expect", KW_EXPECT}, {"true", KW_TRUE},
	{"false", KW_FALSE},       {"none", KW_NONE},
};
const size_t pc_keyword_count = sizeof pc_keyword_table / sizeof pc_keyword_table[0];

int pc_keyword_lookup(const char *s, size_t n)
{
	if (n < 2 || n > 8)
		return 0;
	for (size_t i = 0; i < pc_keyword_count; i++) {
		const char *k = pc_keyword_table[i].text;
		if (k[0] == s[0] && strlen(k) == n && memcmp(k, s, n) == 0)
			return pc_keyword_table[i].token;
	}
	return 0;
}

const char *const *pc_keywords(size_t *count)
{
	static const char *words[sizeof pc_keyword_table / sizeof pc_keyword_table[0] + 1];
	for (size_t i = 0; i < pc_keyword_count; i++)
		words[i] = pc_keyword_table[i].text;
	*count = pc_keyword_count;
	return words;
}
