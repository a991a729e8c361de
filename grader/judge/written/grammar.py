"""The LaTeX students write in derivations, as a lark grammar (LALR), kept in Python so it ships with the code."""

GRAMMAR = r"""
// A small grammar of the LaTeX students write in derivations (read by lark, LALR).
// A block is rows separated by \\ ; a row is a relation: expressions joined by =, arrows, or nothing.

start: row (ROWSEP row)*
row: [relation] PUNCT?
relation: sum ((REL | REL_ARROW) sum)*

?sum: first_term (ADDOP term)*
first_term: [ADDOP] term
term: lead_factor (MULOP? factor | MULOP bracket)* (MULOP? bigop)?
    | bigop
bracket: "[" sum "]"  // `A \odot [B + C]`: after a product sign a bracket groups (after a symbol it indexes)

bigop: BIGOP limits [ADDOP] term  // `\sum_t -\log …`: a sign may open the body
limits: [lower] [upper]
lower: SUB_OPEN relation "}" | SUB_CHAR | SUB_CMD
upper: SUP_OPEN relation "}" | SUP_CHAR | SUP_CMD

?lead_factor: factor | "[" sum "]" -> group
?factor: postfix
?postfix: atom
        | postfix SUB_OPEN subscript "}"  -> sub
        | postfix SUB_CHAR                -> sub
        | postfix SUB_CMD                 -> sub
        | postfix SUP_OPEN sum "}"        -> sup
        | postfix SUP_CHAR                -> sup
        | postfix SUP_CMD                 -> sup
        | postfix "[" sum "]"             -> index
        | postfix PRIME                   -> prime

subscript: relation ("," relation)*

?atom: WORD                               -> word
     | NUMBER                             -> number
     | CMD                                -> command
     | TEXTCMD "{" text_words "}"         -> text
     | HAT postfix                        -> hat
     | STYLE "{" sum "}"                  -> style
     | STYLE NUMBER                       -> style_number  // `\mathbb 1_{y_t}`
     | FRAC "{" sum "}" "{" sum "}"       -> frac
     | PARTIAL postfix                    -> partial
     | "(" sum ")"                        -> group
     | "{" sum "}"                        -> group
     | DOTS                               -> dots

text_words: WORD*

ROWSEP: "\\\\"
PUNCT: /[.,;]/
REL.2: "=" | /\\(approx|equiv|coloneqq)(?![A-Za-z])/ | ":="
REL_ARROW.3: /\\(rightarrow|longrightarrow|to|Rightarrow|Longrightarrow|implies|mapsto)(?![A-Za-z])/
           | /\\(leftarrow|longleftarrow|gets)(?![A-Za-z])/
           | "→" | "⟶" | "⇒" | "->" | "←" | "<-"
ADDOP: "+" | "-" | "−"
MULOP.3: "*" | "·" | "×" | "⊙" | "/" | /\\(cdot|times|ast|odot|circ|otimes)(?![A-Za-z])/
BIGOP.3: /\\(sum|prod)(?![A-Za-z])/ | "∑" | "∏"
FRAC.3: /\\[dt]?frac(?![A-Za-z])/
PARTIAL.3: /\\partial(?![A-Za-z])/ | "∂"
TEXTCMD.3: /\\(text|mathrm|operatorname|textrm|textit|mathit|textbf)(?![A-Za-z])/
HAT.3: /\\(hat|widehat|tilde|bar)(?![A-Za-z])/
STYLE.3: /\\(mathbf|boldsymbol|bm|mathcal|vec|boxed|mathbb|mathsf|pmb)(?![A-Za-z])/
DOTS.3: /\\(dots|cdots|ldots|vdots|ddots)(?![A-Za-z])/ | "…" | "..."
CMD: /\\[A-Za-z]+/
SUB_OPEN: /_\s*\{/
SUB_CHAR: /_\s*[^\W_]/
SUB_CMD: /_\s*\\[A-Za-z]+/
SUP_OPEN: /\^\s*\{/
SUP_CHAR: /\^\s*[^\W_]/
SUP_CMD: /\^\s*\\[A-Za-z]+/
PRIME: "'"
WORD: /[^\W\d_]+/
NUMBER: /\d+(\.\d+)?/

IGNORED.4: /\\(left|right|big|Big|bigg|Bigg|bigl|bigr|Bigl|Bigr)(?![A-Za-z])/
        | /\\(quad|qquad|displaystyle|limits|nonumber|notag)(?![A-Za-z])/
        | /\\[,;:! ]/
        | /\\(begin|end)\s*\{[A-Za-z*]*\}/
        | "&"
%import common.WS
%ignore WS
%ignore IGNORED
"""
