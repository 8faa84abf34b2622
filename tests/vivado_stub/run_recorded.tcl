# run_recorded.tcl LOG SCRIPT: run a Vivado Tcl script under the recording stand-in (plain tclsh, no Vivado).
# Exit 0 when the script completes, 1 with "ERROR: <message>" on stderr when it (or the stand-in) errors.
# Run it with the working directory Vivado would have (make_bitfile.tcl uses paths relative to itself).
if {[llength $argv] != 2} {
    puts stderr "usage: tclsh run_recorded.tcl LOG SCRIPT"
    exit 2
}
lassign $argv log script
source [file join [file dirname [file normalize [info script]]] vivado_recorder.tcl]
::rec::start $log
if {[catch {uplevel #0 [list source $script]} msg]} {
    puts stderr "ERROR: $msg"
    ::rec::finish error $msg
    exit 1
}
::rec::finish ok
exit 0
