# jupyter-webpty shell integration for bash (>= 4.4), started as `bash --rcfile THIS -i`.
#
# First runs what bash would have run (a login shell's profile files or an interactive shell's
# rc files, in bash's order), then adds prompt and command marks: OSC 133 A/B/C/D, the command
# line as OSC 633 E and the cwd as OSC 7. The user's files are not edited; PROMPT_COMMAND
# (string or array), PS0, PS1, traps and HISTCONTROL are kept; everything here works under
# `set -u` and never fails under `set -e`.

if [ -n "${WEBPTY_BASH_LOGIN-}" ]; then
    # A login shell: /etc/profile, then the first of these that exists (bash(1), INVOCATION).
    unset WEBPTY_BASH_LOGIN
    if [ -r /etc/profile ]; then . /etc/profile; fi
    for __webpty_file in "$HOME/.bash_profile" "$HOME/.bash_login" "$HOME/.profile"; do
        if [ -r "$__webpty_file" ]; then
            . "$__webpty_file"
            break
        fi
    done
    unset __webpty_file
else
    # --rcfile replaces both the system-wide and the personal rc file (Debian's SYS_BASHRC).
    if [ -r /etc/bash.bashrc ]; then . /etc/bash.bashrc; fi
    if [ -r "$HOME/.bashrc" ]; then . "$HOME/.bashrc"; fi
fi

if [ -z "${__webpty_installed-}" ] && [ "${BASH_VERSINFO[0]}${BASH_VERSINFO[1]}" -ge 44 ]; then
    __webpty_installed=1
    __webpty_ran=0
    __webpty_status=0
    __webpty_histnum=
    # PS0 sets __webpty_ran in this shell (not a subshell) by an arithmetic array subscript;
    # both elements exist so that `set -u` has nothing to complain about.
    __webpty_nil=("" "")

    __webpty_escape() {
        # VS Code's OSC 633 escaping: backslash doubled, ";" and control characters as \xHH.
        local s=$1
        s=${s//\\/\\\\}
        s=${s//;/\\x3b}
        s=${s//$'\n'/\\x0a}
        s=${s//$'\r'/\\x0d}
        s=${s//$'\e'/\\x1b}
        s=${s//$'\a'/\\x07}
        builtin printf '%s' "$s"
    }

    __webpty_history() {
        # "NUMBER<tab>LINE" of the newest history entry, without HISTTIMEFORMAT's stamp.
        local HISTTIMEFORMAT= entry number
        entry=$(builtin history 1)
        entry=${entry#"${entry%%[![:space:]]*}"}
        number=${entry%%[![:digit:]]*}
        entry=${entry#"$number"}
        entry=${entry#\*}
        builtin printf '%s\t%s' "$number" "${entry#  }"
    }

    __webpty_preexec() {
        # Runs in PS0's command substitution: after bash read the command, before it runs.
        local entry command=
        entry=$(__webpty_history)
        if [ "${entry%%$'\t'*}" != "$__webpty_histnum" ]; then
            command=${entry#*$'\t'}
        else
            # No new history entry: a duplicate under ignoredups (the entry is right), or a
            # line that was not saved (ignorespace, HISTIGNORE): then the line is unknown.
            case ":${HISTCONTROL-}:" in
                *:ignorespace:* | *:ignoreboth:*) entry= ;;
            esac
            if [ -n "${HISTIGNORE-}" ]; then entry=; fi
            command=${entry#*$'\t'}
        fi
        builtin printf '\e]633;E;%s\a\e]133;C\a' "$(__webpty_escape "$command")"
    }

    __webpty_precmd() {
        # First in PROMPT_COMMAND: the command's exit status, before anything changes $?.
        __webpty_status=$?
        if [ "$__webpty_ran" = 1 ]; then
            __webpty_ran=0
            builtin printf '\e]133;D;%s\a' "$__webpty_status"
        fi
        return "$__webpty_status"
    }

    __webpty_prompt() {
        # Last in PROMPT_COMMAND: cwd, prompt start, and PS1 ending with the prompt-end mark
        # (again if the user's PROMPT_COMMAND rebuilt PS1).
        local entry cwd=${PWD//%/%25}
        cwd=${cwd//$'\n'/%0A}
        cwd=${cwd//$'\a'/%07}
        cwd=${cwd//$'\e'/%1B}
        builtin printf '\e]7;file://%s%s\a\e]133;A\a' "${HOSTNAME-}" "$cwd"
        case "${PS1-}" in
            *'133;B'*) ;;
            *) PS1="${PS1-}"'\[\e]133;B\a\]' ;;
        esac
        entry=$(__webpty_history)
        __webpty_histnum=${entry%%$'\t'*}
        return "$__webpty_status"
    }

    PS0="${PS0-}"'${__webpty_nil[__webpty_ran=1]}$(__webpty_preexec)'
    if [[ "$(declare -p PROMPT_COMMAND 2>/dev/null)" == "declare -a"* ]]; then
        PROMPT_COMMAND=(__webpty_precmd "${PROMPT_COMMAND[@]}" __webpty_prompt)
    elif [ -n "${PROMPT_COMMAND-}" ]; then
        PROMPT_COMMAND=$'__webpty_precmd\n'"$PROMPT_COMMAND"$'\n__webpty_prompt'
    else
        PROMPT_COMMAND=$'__webpty_precmd\n__webpty_prompt'
    fi
fi
