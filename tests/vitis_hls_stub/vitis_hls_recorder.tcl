# vitis_hls_recorder.tcl: a recording stand-in for the Vitis HLS Tcl commands run_hls.tcl uses. NOT Vitis HLS.
#
#   tclsh vitis_hls_recorder.tcl LOG SCRIPT     (working directory: the script's, as `vitis_hls -f` runs it)
#
# Each command checks its options against the Vitis HLS command reference (UG1399: open_project, set_top,
# add_files, open_solution, set_part, create_clock, csim_design, csynth_design, export_design), appends one JSON
# line {"cmd": ..., "args": [...]} to LOG, and models the little state Vitis would refuse on: a project and a
# solution open before they are used, every added file existing, the top function defined in a design (not
# testbench) source, -I directories in -cflags existing, a part and a clock before synthesis.
# Exit 0 when the script completes (or calls exit 0), 1 with "ERROR: <message>" on stderr otherwise.
if {[llength $argv] != 2} { puts stderr "usage: tclsh vitis_hls_recorder.tcl LOG SCRIPT"; exit 2 }
lassign $argv log_path script
set ::log [open $log_path w]
array set ::S {project "" solution "" top "" part "" clock "" design {} tb {} synthesized 0}

proc json_str {s} { return "\"[string map {\\ \\\\ \" \\\" \n \\n \t \\t} $s]\"" }
proc record {cmd args} {
    set items {}
    foreach a $args { lappend items [json_str $a] }
    puts $::log "{\"cmd\": [json_str $cmd], \"args\": \[[join $items ", "]\]}"
    flush $::log
}
# parse ARGS against flags (no value) and valued options; returns dict {opts positionals}
proc parse {cmd argl flags valued} {
    set opts [dict create]; set pos {}
    for {set i 0} {$i < [llength $argl]} {incr i} {
        set a [lindex $argl $i]
        if {[string index $a 0] eq "-"} {
            if {$a in $flags} { dict set opts $a 1 } elseif {$a in $valued} {
                incr i
                if {$i >= [llength $argl]} { error "$cmd: option $a needs a value" }
                dict set opts $a [lindex $argl $i]
            } else { error "$cmd: unknown option $a (UG1399 allows: [concat $flags $valued])" }
        } else { lappend pos $a }
    }
    return [list $opts $pos]
}
proc need_project {cmd} { if {$::S(project) eq ""} { error "$cmd: no project open (open_project first)" } }
proc need_solution {cmd} { need_project $cmd; if {$::S(solution) eq ""} { error "$cmd: no solution open (open_solution first)" } }
proc check_cflags {cmd cflags} {
    foreach w $cflags {
        if {[string match -I* $w] && ![file isdirectory [string range $w 2 end]]} {
            error "$cmd: -cflags include directory [string range $w 2 end] does not exist"
        }
    }
}

proc open_project {args} {
    lassign [parse open_project $args {-reset -upgrade} {}] o p
    if {[llength $p] != 1} { error "open_project: expects one project name" }
    set ::S(project) [lindex $p 0]; record open_project {*}$args
}
proc set_top {args} {
    need_project set_top
    if {[llength $args] != 1} { error "set_top: expects one function name" }
    set ::S(top) [lindex $args 0]; record set_top {*}$args
}
proc add_files {args} {
    need_project add_files
    lassign [parse add_files $args {-tb -blackbox} {-cflags -csimflags}] o p
    if {[llength $p] < 1} { error "add_files: no file given" }
    if {[dict exists $o -cflags]} { check_cflags add_files [dict get $o -cflags] }
    foreach f $p {
        if {![file exists $f]} { error "add_files: $f does not exist" }
        if {[dict exists $o -tb]} { lappend ::S(tb) $f } else { lappend ::S(design) $f }
    }
    record add_files {*}$args
}
proc open_solution {args} {
    need_project open_solution
    lassign [parse open_solution $args {-reset} {-flow_target}] o p
    if {[llength $p] != 1} { error "open_solution: expects one solution name" }
    if {[dict exists $o -flow_target] && [dict get $o -flow_target] ni {vivado vitis}} {
        error "open_solution: -flow_target must be vivado or vitis"
    }
    set ::S(solution) [lindex $p 0]; record open_solution {*}$args
}
proc set_part {args} {
    need_solution set_part
    if {[llength $args] != 1 || [lindex $args 0] eq ""} { error "set_part: expects one part name" }
    if {![regexp {^x[a-z0-9]+(-[0-9a-zA-Z]+)+$} [lindex $args 0]]} { error "set_part: [lindex $args 0] is not a Xilinx part name" }
    set ::S(part) [lindex $args 0]; record set_part {*}$args
}
proc create_clock {args} {
    need_solution create_clock
    lassign [parse create_clock $args {} {-period -name}] o p
    if {![dict exists $o -period] || ![string is double -strict [dict get $o -period]] || [dict get $o -period] <= 0} {
        error "create_clock: -period must be a positive number of ns"
    }
    set ::S(clock) [dict get $o -period]; record create_clock {*}$args
}
proc csim_design {args} {
    need_solution csim_design
    lassign [parse csim_design $args {-O -clean -setup -profile -code_analyzer} {-argv -compiler -ldflags -mflags}] o p
    if {[llength $::S(tb)] == 0} { error "csim_design: no testbench file added (add_files -tb)" }
    record csim_design {*}$args
}
proc top_defined {} {
    foreach f $::S(design) {
        set fh [open $f]; set text [read $fh]; close $fh
        if {[regexp "(^|\n)\\s*void\\s+$::S(top)\\s*\\(" $text]} { return 1 }
    }
    return 0
}
proc csynth_design {args} {
    need_solution csynth_design
    parse csynth_design $args {-dump_cfg -dump_post_cfg -synthesis_check} {}
    if {$::S(top) eq ""} { error "csynth_design: no top function (set_top)" }
    if {$::S(part) eq "" || $::S(clock) eq ""} { error "csynth_design: set_part and create_clock first" }
    if {![top_defined]} { error "csynth_design: top function $::S(top) is not defined in a design source ($::S(design))" }
    set ::S(synthesized) 1; record csynth_design {*}$args
}
proc export_design {args} {
    need_solution export_design
    lassign [parse export_design $args {-flow} {-format -rtl -description -display_name -ipname -library -vendor -version -output}] o p
    if {!$::S(synthesized)} { error "export_design: run csynth_design first" }
    if {[dict exists $o -format] && [dict get $o -format] ni {ip_catalog xo syn_dcp sysgen}} { error "export_design: bad -format" }
    if {[dict exists $o -rtl] && [dict get $o -rtl] ni {verilog vhdl}} { error "export_design: -rtl must be verilog or vhdl" }
    record export_design {*}$args
}
rename exit tcl_exit
proc exit {{code 0}} { record exit $code; close $::log; tcl_exit $code }

if {[catch {source $script} msg]} { puts stderr "ERROR: $msg"; record error $msg; close $::log; tcl_exit 1 }
record end
close $::log
tcl_exit 0
