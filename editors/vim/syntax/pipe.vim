" Vim syntax file for the pipec .pipe language.
" Install: copy editors/vim/ into ~/.vim/ (syntax/ and ftdetect/).
" The keyword list must match the lexer's table (tests/unit/test_editors.c).
if exists("b:current_syntax")
  finish
endif

syn keyword pipeKeyword import as type record enum stage pipeline test let
syn keyword pipeKeyword return if else for in where require try after mock
syn keyword pipeKeyword expect true false none

syn keyword pipeType Int Float Bool String Duration Size File Dir List Map
syn match pipeComment "#.*$" contains=@Spell
syn match pipeNumber "\<\d\+\(_\d\+\)*\(\.\d\+\)\=\([eE][+-]\=\d\+\)\=\(ns\|us\|ms\|s\|m\|h\|d\|B\|KB\|MB\|GB\|TB\|PB\|KiB\|MiB\|GiB\|TiB\|PiB\)\=\>"
syn match pipeEscape contained "\\[nrt\"\\$]"
syn region pipeInterp contained matchgroup=pipeInterpDelim start="\${" end="}" contains=pipeNumber,pipeKeyword,pipeString
syn region pipeString start=+"+ skip=+\\\\\|\\"+ end=+"+ end=+$+ contains=pipeEscape,pipeInterp
syn region pipeTextBlock start=+"""+ skip=+\\"+ end=+"""+ contains=pipeEscape,pipeInterp
syn match pipeDirective "^\s*\zs\h\w*\ze\s*:" 
syn match pipeDecl "\<\(stage\|pipeline\|record\|enum\|type\)\s\+\zs\h\w*"

hi def link pipeKeyword Keyword
hi def link pipeType Type
hi def link pipeComment Comment
hi def link pipeNumber Number
hi def link pipeString String
hi def link pipeTextBlock String
hi def link pipeEscape SpecialChar
hi def link pipeInterpDelim Special
hi def link pipeDirective Identifier
hi def link pipeDecl Function

let b:current_syntax = "pipe"
