# jupyter-webpty: the user's .zshrc, then prompt and command marks (OSC 133 A/B/C/D, the command
# line as OSC 633 E, the cwd as OSC 7) through precmd/preexec hook arrays, keeping the user's
# hooks. Works under `setopt nounset` and never fails under `setopt errexit`.
__webpty_zdotdir=$ZDOTDIR
ZDOTDIR=${WEBPTY_USER_ZDOTDIR-$HOME}
if [[ -r $ZDOTDIR/.zshrc ]]; then source "$ZDOTDIR/.zshrc"; fi
if [[ -n ${WEBPTY_USER_ZDOTDIR+x} ]]; then
    ZDOTDIR=$WEBPTY_USER_ZDOTDIR  # from here on (.zlogin, nested shells) the user's own
    unset WEBPTY_USER_ZDOTDIR
else
    unset ZDOTDIR
fi
unset __webpty_zdotdir

if [[ -z ${__webpty_installed-} ]]; then
    __webpty_installed=1
    typeset -gi __webpty_ran=0

    __webpty_escape() {
        # VS Code's OSC 633 escaping: backslash doubled, ";" and control characters as \xHH.
        local s=$1
        s=${s//\\/\\\\}
        s=${s//;/\\x3b}
        s=${s//$'\n'/\\x0a}
        s=${s//$'\r'/\\x0d}
        s=${s//$'\e'/\\x1b}
        s=${s//$'\a'/\\x07}
        print -rn -- "$s"
    }

    __webpty_precmd() {
        local webpty_status=$?
        if (( __webpty_ran )); then
            __webpty_ran=0
            print -n "\e]133;D;$webpty_status\a"
        fi
        local cwd=${PWD//\%/%25}
        cwd=${cwd//$'\n'/%0A}
        cwd=${cwd//$'\a'/%07}
        cwd=${cwd//$'\e'/%1B}
        print -rn -- $'\e]7;file://'"${HOST-}$cwd"$'\a\e]133;A\a'
        if [[ $PS1 != *'133;B'* ]]; then PS1=$PS1$'%{\e]133;B\a%}'; fi
        return $webpty_status
    }

    __webpty_preexec() {
        __webpty_ran=1
        print -rn -- $'\e]633;E;'"$(__webpty_escape "$1")"$'\a\e]133;C\a'
    }

    # Ours first among precmd hooks: it reads $? before another hook changes it.
    typeset -ga precmd_functions preexec_functions
    precmd_functions=(__webpty_precmd ${precmd_functions[@]})
    preexec_functions+=(__webpty_preexec)
fi
