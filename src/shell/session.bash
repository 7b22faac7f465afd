# The start of every bash that dbox runs (src/shell/bash-session.ts): sourced through BASH_ENV
# by `dbox -c`, scripts and piped input, through --rcfile by the interactive session.
#
# It defines dbox's builtins as functions that call dbox (through the session's client link, which
# finds the session's socket beside itself), so `ls`, `cat`, `cp`, `attach` and `help` are the same
# commands at the prompt, in pipelines, in scripts and behind redirections. `command ls` is the
# system's. The interactive part also lets dbox feed lines to this bash (see __dbox_interactive).
#
# Inputs (environment, removed here): DBOX_CLIENT, DBOX_BUILTINS, DBOX_USER_BASH_ENV (the user's
# own BASH_ENV, sourced and restored), DBOX_INTERACTIVE, DBOX_HISTORY, DBOX_LINE_FILE.
# It leaves `$_` as bash had it (the last line below).
__dbox_underscore=$_

if [[ -n ${DBOX_INTERACTIVE-} && -f ~/.bashrc ]]; then
  # The rcfile replaces ~/.bashrc (bash still reads /etc/bash.bashrc itself): read it as bash would.
  . ~/.bashrc
fi

# After the user's startup files, as a function defined later would be.
__dbox_define() {
  local name q
  printf -v q '%q' "$1"
  for name in $2; do
    eval "function $name { $q $name \"\$@\"; }"
  done
}
__dbox_define "$DBOX_CLIENT" "$DBOX_BUILTINS"
unset -f __dbox_define

if [[ -n ${DBOX_INTERACTIVE-} ]]; then
  # dbox draws the prompt: bash prints none.
  PS1='' PS2='' PS0=''
  # History: dbox's list (the one its line editor shows), kept in dbox's file, not ~/.bash_history.
  # Lines reach bash through `eval` (below), so bash does not record them itself: __dbox_record
  # adds each line (as expanded) once it has run.
  set +o history
  HISTFILE=
  history -c
  # An entry of several lines (a pasted loop) stays one entry, with its newlines (lithist); bash
  # reads the file's `#<seconds>` lines as the bounds of entries only while HISTTIMEFORMAT is set,
  # so it is set for the read when the user has not set it.
  shopt -s lithist cmdhist
  if [[ -r $DBOX_HISTORY ]]; then
    if [[ -v HISTTIMEFORMAT ]]; then history -r "$DBOX_HISTORY"
    else HISTTIMEFORMAT=; history -r "$DBOX_HISTORY"; unset HISTTIMEFORMAT; fi
  fi
  __dbox_line_file=$DBOX_LINE_FILE
  __dbox_record() {
    local l
    IFS= read -r -d '' l <"$__dbox_line_file"
    if [[ -n $l ]]; then history -s -- "$l"; fi
  }
  # A high index: `PROMPT_COMMAND=...` (which sets index 0) keeps it.
  PROMPT_COMMAND[90]=__dbox_record
  # A line with history characters comes as `eval -- "$(__dbox_expand STATUS LINE)"`: expanded here,
  # as interactive bash expands what it reads (and echoes the result when it changed anything).
  __dbox_expand() {
    local status=$1 line=$2 out
    if ! out=$(builtin history -p -- "$line" 2>&1); then
      printf '%s\n' "${out/history: /}" >&2
      : >"$__dbox_line_file"
      printf '(exit %d)' "$status"
      exit "$status"
    fi
    if [[ $out != "$line" ]]; then printf '%s\n' "$out" >&2; fi
    printf '%s' "$out" >"$__dbox_line_file"
    printf '%s' "$out"
    exit "$status"
  }
fi

if [[ -n ${DBOX_USER_BASH_ENV-} ]]; then
  BASH_ENV=$DBOX_USER_BASH_ENV
  . "$BASH_ENV"
else
  unset BASH_ENV
fi
unset DBOX_CLIENT DBOX_BUILTINS DBOX_USER_BASH_ENV DBOX_INTERACTIVE DBOX_HISTORY DBOX_LINE_FILE
__dbox_restore_underscore() { unset -f __dbox_restore_underscore; unset __dbox_underscore; }
__dbox_restore_underscore "$__dbox_underscore"
