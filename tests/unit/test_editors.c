/*
 * The editor syntax files list exactly the lexer's keywords: the vim file's
 * `syn keyword pipeKeyword ...` lines and the VS Code grammar's keyword
 * pattern (\b(...)\b).
 */
#include "helpers.h"

#include <stdio.h>

static char *slurp(const char *rel)
{
	const char *top = getenv("PIPEC_SRCDIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", top ? top : ".", rel);
	FILE *f = fopen(path, "rb");
	cr_assert(f, "cannot open %s", path);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	return strdup(buf);
}

/* Collects the words of S into WORDS (space separated); returns the count. */
static int words_of(char *s, char **words, int max, const char *seps)
{
	int n = 0;
	for (char *w = strtok(s, seps); w && n < max; w = strtok(NULL, seps))
		words[n++] = w;
	return n;
}

static void same_as_keyword_table(char **words, int n, const char *file)
{
	for (size_t i = 0; i < pc_keyword_count; i++) {
		int found = 0;
		for (int j = 0; j < n; j++)
			found |= strcmp(words[j], pc_keyword_table[i].text) == 0;
		cr_expect(found, "%s does not list the keyword '%s'", file, pc_keyword_table[i].text);
	}
	for (int j = 0; j < n; j++)
		cr_expect(pc_keyword_lookup(words[j], strlen(words[j])), "%s lists '%s', which is no keyword", file, words[j]);
}

Test(editors, vim_lists_the_keywords)
{
	char *text = slurp("editors/vim/syntax/pipe.vim");
	char *words[256];
	int n = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "syn keyword pipeKeyword ", 24) != 0)
			continue;
		/* strtok is in use for lines: copy the tail */
		char *tail = strdup(line + 24);
		char *save = NULL;
		for (char *w = strtok_r(tail, " ", &save); w && n < 256; w = strtok_r(NULL, " ", &save))
			words[n++] = strdup(w);
		free(tail);
	}
	cr_assert_gt(n, 0, "no 'syn keyword pipeKeyword' lines");
	same_as_keyword_table(words, n, "pipe.vim");
	for (int i = 0; i < n; i++)
		free(words[i]);
	free(text);
}

Test(editors, vscode_lists_the_keywords)
{
	char *text = slurp("editors/vscode/syntaxes/pipe.tmLanguage.json");
	char *start = strstr(text, "\"keyword.control.pipe\"");
	cr_assert(start, "no keyword.control.pipe rule");
	char *m = strstr(start, "\\\\b(");
	cr_assert(m, "no \\\\b( pattern after keyword.control.pipe");
	m += 4;
	char *end = strstr(m, ")\\\\b");
	cr_assert(end);
	*end = 0;
	char *words[256];
	int n = words_of(m, words, 256, "|");
	same_as_keyword_table(words, n, "pipe.tmLanguage.json");
	free(text);
}
