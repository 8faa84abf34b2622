# vivado_recorder.tcl: a recording stand-in for the Vivado Tcl commands make_bitfile.tcl uses. NOT Vivado.
#
# Source it in plain tclsh before a Vivado script: every Vivado command below becomes a proc that
#   1. checks its arguments against the command's signature (options, which take a value, positional
#      counts) as the Vivado Tcl Command Reference (UG835) documents them: unknown option, missing value or
#      missing positional => error;
#   2. appends one JSON line {"cmd": ..., "args": [...]} to the log (::rec::start LOGFILE, or $SURGE_VIVADO_LOG);
#   3. acts on a small model of the project and block design, returning plausible values, and raises an
#      error where Vivado would refuse (or, marked "stand-in rule", where this project's conventions do).
#
# The model: files added (each must exist; HDL scanned for modules, instantiations and .mem names), IP
# cells from a table of pinned VLNVs (their CONFIG parameters with legal values, and the pins and interface
# pins each configuration has), module references (ports parsed from the Verilog that was added), nets and
# interface nets (each end must exist; one driver per net), address reachability, runs and their outputs.
# Knobs (environment): SURGE_STUB_SETUP_SLACK / SURGE_STUB_HOLD_SLACK (ns; "inf": unconstrained; "none": no path),
# SURGE_STUB_SYNTH_LOG (text appended to synth_1's runme.log), SURGE_STUB_FAIL_RUN (synth_1 | impl_1),
# SURGE_STUB_NO_BOARD_FILES=1 (no board part installed), SURGE_STUB_VIVADO_VERSION (default 2022.2).

namespace eval ::rec {
    variable log_fh ""
    variable spec          ;# array: command -> dict {flags valued min max required}
    variable ip            ;# array: vlnv -> dict {params ... rules ...}
    variable S             ;# array: state
    array set S {
        project "" proj_dir "" part "" board_part "" files {} modules {} top ""
        bd "" bd_file "" cells {} nets {} next_net 0 intf {} gen 0 addr_gen -1 valid_gen -1 saved_gen -1
        runs {} design "" wrapper ""
    }
}

# ---- log ------------------------------------------------------------------------------------------------
proc ::rec::json_str {s} {
    set out [string map {\\ \\\\ \" \\\" \n \\n \r \\r \t \\t} $s]
    return "\"$out\""
}
proc ::rec::start {path} {
    variable log_fh
    set log_fh [open $path w]
    fconfigure $log_fh -buffering line
}
proc ::rec::write_line {cmd items} {
    variable log_fh
    if {$log_fh eq ""} {
        if {![info exists ::env(SURGE_VIVADO_LOG)]} { error "vivado_recorder: no log (::rec::start FILE or SURGE_VIVADO_LOG)" }
        start $::env(SURGE_VIVADO_LOG)
    }
    set args_json [join [lmap a $items {json_str $a}] ", "]
    puts $log_fh "{\"cmd\": [json_str $cmd], \"args\": \[$args_json\]}"
}
proc ::rec::finish {status {message ""}} {
    variable log_fh
    write_line "#result" [list $status $message]
    close $log_fh
    set log_fh ""
}
proc ::rec::fail {cmd msg} { error "$cmd: $msg" }
proc ::rec::warn {cmd msg} { puts stderr "WARNING: (stand-in) $cmd: $msg" }

# ---- command signatures (UG835; -quiet and -verbose are accepted by every command) ----------------------
# ::rec::command NAME FLAGS VALUED MIN MAX ?REQUIRED?   (MAX -1: any number of positionals)
proc ::rec::command {name flags valued min max {required {}}} {
    variable spec
    set spec($name) [dict create flags [concat $flags {-quiet -verbose}] valued $valued min $min max $max \
        required $required]
    proc ::$name args [format {::rec::dispatch %s $args} $name]
}
proc ::rec::usage {name} {
    variable spec
    set s $spec($name)
    set parts [list $name]
    foreach o [dict get $s valued] { lappend parts "\[$o <arg>\]" }
    foreach o [dict get $s flags] { lappend parts "\[$o\]" }
    lappend parts "positionals [dict get $s min]..[expr {[dict get $s max] < 0 ? "n" : [dict get $s max]}]"
    return [join $parts " "]
}
proc ::rec::parse {name argv} {
    variable spec
    set s $spec($name)
    set opts [dict create]
    set pos {}
    for {set i 0} {$i < [llength $argv]} {incr i} {
        set a [lindex $argv $i]
        if {[regexp {^-[A-Za-z_]} $a]} {
            if {$a in [dict get $s flags]} {
                dict set opts $a 1
            } elseif {$a in [dict get $s valued]} {
                if {$i + 1 >= [llength $argv]} { fail $name "option $a needs a value ([usage $name])" }
                incr i
                dict set opts $a [lindex $argv $i]
            } else {
                fail $name "unknown option '$a' ([usage $name])"
            }
        } else {
            lappend pos $a
        }
    }
    set n [llength $pos]
    if {$n < [dict get $s min] || ([dict get $s max] >= 0 && $n > [dict get $s max])} {
        fail $name "$n positional argument(s) given ([usage $name]): [list $pos]"
    }
    foreach r [dict get $s required] {
        if {![dict exists $opts $r]} { fail $name "required option $r missing ([usage $name])" }
    }
    return [list $opts $pos]
}
proc ::rec::dispatch {name argv} {
    write_line $name $argv
    lassign [parse $name $argv] opts pos
    return [::rec::impl::$name $opts $pos]
}

::rec::command version              {-short} {} 0 0
::rec::command set_param            {} {} 2 2
::rec::command create_project       {-force -in_memory -ip -rtl_kernel} {-part} 0 2
::rec::command current_project      {} {} 0 1
::rec::command get_board_parts      {-regexp -nocase -latest_file_version -latest_hw_revision} {-filter -of_objects} 0 -1
::rec::command get_ipdefs           {-name -regexp -nocase -all} {-filter -of_objects} 0 -1
::rec::command add_files            {-norecurse -force -scan_for_includes} {-fileset -of_objects -cell -copy_to} 1 -1
::rec::command get_files            {-regexp -nocase -references -all} {-filter -compile_order -used_in -of_objects} 0 -1
::rec::command set_property         {} {-dict} 1 -1
::rec::command get_property         {-min -max} {} 2 2
::rec::command update_compile_order {-force_gui} {-fileset} 0 0
::rec::command current_fileset      {-constrset -simset} {} 0 1
::rec::command create_bd_design     {} {-dir -cell -mode -bdsource} 1 1
::rec::command create_bd_cell       {} {-vlnv -type -reference} 1 1
::rec::command get_bd_cells         {-regexp -hierarchical} {-filter -of_objects} 0 -1
::rec::command get_bd_pins          {-regexp -hierarchical} {-filter -of_objects} 0 -1
::rec::command get_bd_intf_pins     {-regexp -hierarchical} {-filter -of_objects} 0 -1
::rec::command apply_bd_automation  {} {-rule -dict -config -opts} 0 -1 {-rule}
::rec::command connect_bd_intf_net  {} {-intf_net -boundary_type} 2 2
::rec::command connect_bd_net       {} {-net -boundary_type} 1 -1
::rec::command assign_bd_address    {-external -force -boundary} \
    {-target_address_space -offset -range -dict -export_to_file -import_from_file -export_gui_to_file} 0 -1
::rec::command validate_bd_design   {-force} {-design} 0 0
::rec::command save_bd_design       {} {} 0 1
::rec::command make_wrapper         {-top -testbench -inst_template -import -force} {-files -fileset} 0 0 {-files}
::rec::command get_runs             {-regexp -nocase} {-filter -of_objects} 0 -1
::rec::command launch_runs          {-scripts_only -all_placement -next_step -email_all -force} \
    {-jobs -dir -to_step -host -remote_cmd -email_to -pre_launch_script -post_launch_script -custom_script -lsf -sge
     -cluster_configuration} 1 -1
::rec::command wait_on_run          {} {-timeout} 1 1
::rec::command open_run             {} {-name -pr_config} 1 1
::rec::command report_timing_summary \
    {-check_timing_verbose -setup -hold -no_detailed_paths -unique_pins -report_unconstrained -warn_on_violation
     -no_check_timing -no_header -return_string -append -datasheet -input_pins} \
    {-delay_type -max_paths -nworst -path_type -file -rpx -name -cells -slack_lesser_than -significant_digits} 0 0
::rec::command get_timing_paths \
    {-setup -hold -unique_pins -no_report_unconstrained -user_ignored -routable_nets -regexp -nocase} \
    {-from -rise_from -fall_from -to -rise_to -fall_to -through -rise_through -fall_through -delay_type -max_paths
     -nworst -slack_lesser_than -slack_greater_than -group -sort_by -filter -of_objects} 0 0
::rec::command report_utilization   {-hierarchical -append -return_string -packthru -no_primitives -omit_locs} \
    {-file -name -format -hierarchical_depth -cells -pblocks -spreadsheet_file -spreadsheet_depth -spreadsheet_table} 0 0
::rec::command close_project        {-delete} {} 0 0

# ---- IP table: the pinned VLNVs this stand-in knows; CONFIG parameters {default legal-values} ------------
# legal: {enum v...} | {int lo hi} | {num lo hi} | {ro}. Names are case-insensitive as in Vivado.
proc ::rec::define_ip {vlnv params} {
    variable ip
    set p [dict create]
    foreach {name def legal} $params { dict set p [string toupper $name] [list $def $legal] }
    set ip($vlnv) $p
}
set ::rec::b {enum 0 1}
::rec::define_ip xilinx.com:ip:processing_system7:5.5 [list \
    PCW_USE_M_AXI_GP0 1 $::rec::b  PCW_USE_M_AXI_GP1 0 $::rec::b  PCW_USE_S_AXI_HP0 0 $::rec::b \
    PCW_USE_S_AXI_HP1 0 $::rec::b  PCW_USE_S_AXI_GP0 0 $::rec::b  PCW_USE_S_AXI_ACP 0 $::rec::b \
    PCW_S_AXI_HP0_DATA_WIDTH 64 {enum 32 64}  PCW_EN_CLK0_PORT 1 $::rec::b  PCW_EN_RST0_PORT 1 $::rec::b \
    PCW_FPGA0_PERIPHERAL_FREQMHZ 50 {num 0.1 250}  PCW_ACT_FPGA0_PERIPHERAL_FREQMHZ 50 {ro} \
    PCW_USE_FABRIC_INTERRUPT 0 $::rec::b  PCW_IRQ_F2P_INTR 0 $::rec::b]
::rec::define_ip xilinx.com:ip:zynq_ultra_ps_e:3.4 [list \
    PSU__USE__M_AXI_GP0 1 $::rec::b  PSU__USE__M_AXI_GP1 1 $::rec::b  PSU__USE__M_AXI_GP2 1 $::rec::b \
    PSU__USE__S_AXI_GP0 0 $::rec::b  PSU__USE__S_AXI_GP2 0 $::rec::b  PSU__USE__S_AXI_GP3 0 $::rec::b \
    PSU__SAXIGP2__DATA_WIDTH 128 {enum 32 64 128}  PSU__MAXIGP0__DATA_WIDTH 128 {enum 32 64 128} \
    PSU__FPGA_PL0_ENABLE 1 $::rec::b  PSU__FPGA_PL1_ENABLE 0 $::rec::b  PSU__USE__FABRIC__RST 1 $::rec::b \
    PSU__OVERRIDE__BASIC_CLOCK 0 $::rec::b  PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ 100 {num 1 500} \
    PSU__CRL_APB__PL0_REF_CTRL__ACT_FREQMHZ 100 {ro}  PSU__USE__IRQ0 0 $::rec::b]
::rec::define_ip xilinx.com:ip:axi_dma:7.1 [list \
    c_include_sg 1 $::rec::b  c_sg_length_width 14 {int 8 26}  c_sg_include_stscntrl_strm 1 $::rec::b \
    c_include_mm2s 1 $::rec::b  c_include_s2mm 1 $::rec::b  c_addr_width 32 {int 32 64} \
    c_m_axi_mm2s_data_width 32 {enum 32 64 128 256 512 1024} \
    c_m_axis_mm2s_tdata_width 32 {enum 8 16 32 64 128 256 512 1024} \
    c_m_axi_s2mm_data_width 32 {enum 32 64 128 256 512 1024} \
    c_s_axis_s2mm_tdata_width 32 {enum 8 16 32 64 128 256 512 1024} \
    c_mm2s_burst_size 16 {enum 2 4 8 16 32 64 128 256}  c_s2mm_burst_size 16 {enum 2 4 8 16 32 64 128 256} \
    c_include_mm2s_dre 0 $::rec::b  c_include_s2mm_dre 0 $::rec::b  c_micro_dma 0 $::rec::b \
    c_enable_multi_channel 0 $::rec::b  c_prmry_is_aclk_async 0 $::rec::b]
::rec::define_ip xilinx.com:ip:proc_sys_reset:5.0 [list \
    C_EXT_RST_WIDTH 4 {int 1 16}  C_AUX_RST_WIDTH 4 {int 1 16}  C_EXT_RESET_HIGH 0 $::rec::b \
    C_AUX_RESET_HIGH 0 $::rec::b  C_NUM_BUS_RST 1 {int 1 8}  C_NUM_PERP_RST 1 {int 1 16} \
    C_NUM_INTERCONNECT_ARESETN 1 {int 1 8}  C_NUM_PERP_ARESETN 1 {int 1 16}]
::rec::define_ip xilinx.com:ip:smartconnect:1.0 [list \
    NUM_SI 1 {int 1 16}  NUM_MI 2 {int 1 16}  NUM_CLKS 1 {int 1 16}  HAS_ARESETN 1 $::rec::b]
::rec::define_ip xilinx.com:ip:axi_interconnect:2.1 [list \
    NUM_SI 1 {int 1 16}  NUM_MI 2 {int 1 64}  STRATEGY 0 {enum 0 1 2}  ENABLE_ADVANCED_OPTIONS 0 $::rec::b]

# apply_bd_automation rules per IP: rule name, -config keys allowed, what "apply_board_preset 1" sets
# (the stand-in's assumption of a board preset: it enables the PS's default ports and clock).
array set ::rec::rules {
    xilinx.com:ip:processing_system7:5.5 {rule xilinx.com:bd_rule:processing_system7
        keys {make_external apply_board_preset Master Slave}
        preset {PCW_USE_M_AXI_GP0 1 PCW_EN_CLK0_PORT 1 PCW_EN_RST0_PORT 1 PCW_FPGA0_PERIPHERAL_FREQMHZ 100}}
    xilinx.com:ip:zynq_ultra_ps_e:3.4 {rule xilinx.com:bd_rule:zynq_ultra_ps_e
        keys {apply_board_preset}
        preset {PSU__USE__M_AXI_GP0 1 PSU__USE__M_AXI_GP1 1 PSU__USE__M_AXI_GP2 0 PSU__FPGA_PL0_ENABLE 1}}
}

proc ::rec::cfg {cell name} {
    variable S
    return [dict get $S(cells) $cell cfg [string toupper $name]]
}

# Pins and interface pins of an IP cell in its current configuration.
#   pin:  name -> {dir I|O type clk|rst|intr|data pol low|high|any req 0|1}
#   intf: name -> {mode Master|Slave|External bus aximm|axis|ddr|fixedio width N clk PIN req 0|1 seg 0|1 ext 0|1}
proc ::rec::ip_ports {cell} {
    variable S
    set vlnv [dict get $S(cells) $cell vlnv]
    set P [dict create]
    set I [dict create]
    set on [list apply {{cell name} { expr {[::rec::cfg $cell $name] == 1} }} $cell]
    switch -- $vlnv {
        xilinx.com:ip:processing_system7:5.5 {
            if {[{*}$on PCW_EN_CLK0_PORT]} { dict set P FCLK_CLK0 {dir O type clk pol any req 0} }
            if {[{*}$on PCW_EN_RST0_PORT]} { dict set P FCLK_RESET0_N {dir O type rst pol low req 0} }
            if {[{*}$on PCW_USE_M_AXI_GP0]} {
                dict set P M_AXI_GP0_ACLK {dir I type clk pol any req 1}
                dict set I M_AXI_GP0 {mode Master bus aximm width 32 clk M_AXI_GP0_ACLK req 0 seg 0 ext 0}
            }
            if {[{*}$on PCW_USE_S_AXI_HP0]} {
                dict set P S_AXI_HP0_ACLK {dir I type clk pol any req 1}
                dict set I S_AXI_HP0 [list mode Slave bus aximm width [cfg $cell PCW_S_AXI_HP0_DATA_WIDTH] \
                    clk S_AXI_HP0_ACLK req 0 seg 1 ext 0]
            }
            if {[{*}$on PCW_USE_FABRIC_INTERRUPT]} { dict set P IRQ_F2P {dir I type intr pol any req 0} }
            dict set I DDR {mode Master bus ddr width 0 clk "" req 0 seg 0 ext 1}
            dict set I FIXED_IO {mode Master bus fixedio width 0 clk "" req 0 seg 0 ext 1}
        }
        xilinx.com:ip:zynq_ultra_ps_e:3.4 {
            if {[{*}$on PSU__FPGA_PL0_ENABLE]} { dict set P pl_clk0 {dir O type clk pol any req 0} }
            if {[{*}$on PSU__USE__FABRIC__RST]} { dict set P pl_resetn0 {dir O type rst pol low req 0} }
            foreach {par intf clk mode seg} {
                PSU__USE__M_AXI_GP0 M_AXI_HPM0_FPD maxihpm0_fpd_aclk Master 0
                PSU__USE__M_AXI_GP1 M_AXI_HPM1_FPD maxihpm1_fpd_aclk Master 0
                PSU__USE__M_AXI_GP2 M_AXI_HPM0_LPD maxihpm0_lpd_aclk Master 0
                PSU__USE__S_AXI_GP0 S_AXI_HPC0_FPD saxihpc0_fpd_aclk Slave 1
                PSU__USE__S_AXI_GP2 S_AXI_HP0_FPD saxihp0_fpd_aclk Slave 1
                PSU__USE__S_AXI_GP3 S_AXI_HP1_FPD saxihp1_fpd_aclk Slave 1
            } {
                if {[{*}$on $par]} {
                    dict set P $clk {dir I type clk pol any req 1}
                    set w [expr {$intf eq "S_AXI_HP0_FPD" ? [cfg $cell PSU__SAXIGP2__DATA_WIDTH] : 128}]
                    dict set I $intf [list mode $mode bus aximm width $w clk $clk req 0 seg $seg ext 0]
                }
            }
            if {[{*}$on PSU__USE__IRQ0]} { dict set P pl_ps_irq0 {dir I type intr pol any req 0} }
        }
        xilinx.com:ip:axi_dma:7.1 {
            dict set P s_axi_lite_aclk {dir I type clk pol any req 1}
            dict set P axi_resetn {dir I type rst pol low req 1}
            dict set I S_AXI_LITE {mode Slave bus aximm width 32 clk s_axi_lite_aclk req 1 seg 1 ext 0}
            if {[{*}$on c_include_sg]} {
                dict set P m_axi_sg_aclk {dir I type clk pol any req 1}
                dict set I M_AXI_SG {mode Master bus aximm width 32 clk m_axi_sg_aclk req 1 seg 0 ext 0}
                if {[{*}$on c_sg_include_stscntrl_strm]} {
                    dict set I M_AXIS_CNTRL {mode Master bus axis width 32 clk m_axi_mm2s_aclk req 0 seg 0 ext 0}
                    dict set I S_AXIS_STS {mode Slave bus axis width 32 clk m_axi_s2mm_aclk req 0 seg 0 ext 0}
                }
            }
            if {[{*}$on c_include_mm2s]} {
                dict set P m_axi_mm2s_aclk {dir I type clk pol any req 1}
                dict set P mm2s_introut {dir O type intr pol high req 0}
                dict set I M_AXI_MM2S [list mode Master bus aximm width [cfg $cell c_m_axi_mm2s_data_width] \
                    clk m_axi_mm2s_aclk req 1 seg 0 ext 0]
                dict set I M_AXIS_MM2S [list mode Master bus axis width [cfg $cell c_m_axis_mm2s_tdata_width] \
                    clk m_axi_mm2s_aclk req 1 seg 0 ext 0]
            }
            if {[{*}$on c_include_s2mm]} {
                dict set P m_axi_s2mm_aclk {dir I type clk pol any req 1}
                dict set P s2mm_introut {dir O type intr pol high req 0}
                dict set I M_AXI_S2MM [list mode Master bus aximm width [cfg $cell c_m_axi_s2mm_data_width] \
                    clk m_axi_s2mm_aclk req 1 seg 0 ext 0]
                dict set I S_AXIS_S2MM [list mode Slave bus axis width [cfg $cell c_s_axis_s2mm_tdata_width] \
                    clk m_axi_s2mm_aclk req 1 seg 0 ext 0]
            }
        }
        xilinx.com:ip:proc_sys_reset:5.0 {
            dict set P slowest_sync_clk {dir I type clk pol any req 1}
            dict set P ext_reset_in {dir I type rst pol any req 1}
            dict set P aux_reset_in {dir I type rst pol any req 0}
            dict set P mb_debug_sys_rst {dir I type rst pol high req 0}
            dict set P dcm_locked {dir I type data pol any req 0}
            dict set P mb_reset {dir O type rst pol high req 0}
            dict set P bus_struct_reset {dir O type rst pol high req 0}
            dict set P peripheral_reset {dir O type rst pol high req 0}
            dict set P interconnect_aresetn {dir O type rst pol low req 0}
            dict set P peripheral_aresetn {dir O type rst pol low req 0}
        }
        xilinx.com:ip:smartconnect:1.0 {
            dict set P aclk {dir I type clk pol any req 1}
            for {set k 1} {$k < [cfg $cell NUM_CLKS]} {incr k} { dict set P aclk$k {dir I type clk pol any req 1} }
            if {[{*}$on HAS_ARESETN]} { dict set P aresetn {dir I type rst pol low req 1} }
            # stand-in rule: every SmartConnect port must be connected (an open one is a configuration slip)
            for {set k 0} {$k < [cfg $cell NUM_SI]} {incr k} {
                dict set I [format S%02d_AXI $k] {mode Slave bus aximm width 0 clk aclk req 1 seg 0 ext 0 xbar 1}
            }
            for {set k 0} {$k < [cfg $cell NUM_MI]} {incr k} {
                dict set I [format M%02d_AXI $k] {mode Master bus aximm width 0 clk aclk req 1 seg 0 ext 0 xbar 1}
            }
        }
        xilinx.com:ip:axi_interconnect:2.1 {
            dict set P ACLK {dir I type clk pol any req 1}
            dict set P ARESETN {dir I type rst pol low req 1}
            foreach {pfx mode par} {S Slave NUM_SI M Master NUM_MI} {
                for {set k 0} {$k < [cfg $cell $par]} {incr k} {
                    set n [format %s%02d $pfx $k]
                    dict set P ${n}_ACLK {dir I type clk pol any req 1}
                    dict set P ${n}_ARESETN {dir I type rst pol low req 1}
                    dict set I ${n}_AXI [list mode $mode bus aximm width 0 clk ${n}_ACLK req 1 seg 0 ext 0 xbar 1]
                }
            }
        }
        default { error "stand-in: no pin model for $vlnv" }
    }
    return [list $P $I]
}

# ---- HDL scanning (plain regular expressions over the files that were added; not a Verilog parser) -------
proc ::tcl::mathfunc::clog2 {x} {
    set n 0
    while {(1 << $n) < $x} { incr n }
    return $n
}
proc ::rec::strip_comments {text} {
    regsub -all {/\*.*?\*/} $text " " text
    regsub -all {//[^\n]*} $text "" text
    return $text
}
set ::rec::keywords {if else for while case casez casex begin end always always_ff always_comb initial assign
    function task return integer reg wire logic input output inout localparam parameter generate endgenerate
    genvar automatic signed unsigned posedge negedge or and nand nor xor xnor not buf bufif0 bufif1 repeat
    forever wait default module endmodule typedef struct enum unique priority endfunction endtask endcase
    endgenerate fork join ifdef ifndef elsif endif define undef include timescale default_nettype}
# -> list of {module body} pairs, and the .mem names quoted anywhere in the file
proc ::rec::scan_hdl {path} {
    set fh [open $path r]
    set text [strip_comments [read $fh]]
    close $fh
    set mods {}
    set ends [regexp -all -indices -inline {\mendmodule\M} $text]
    foreach {at nm} [regexp -all -indices -inline {\mmodule\s+(\w+)} $text] {
        set start [expr {[lindex $at 1] + 1}]
        set stop [string length $text]
        foreach e $ends { if {[lindex $e 0] > $start} { set stop [lindex $e 0]; break } }
        lappend mods [string range $text {*}$nm] [string range $text $start $stop]
    }
    # ROM images passed to instances as parameter overrides, .NAME("file.mem") (module defaults such as
    # parameter WEIGHT_FILE = "weights.mem" are always overridden, so they are not counted)
    set mems {}
    foreach {all m} [regexp -all -inline {\.\w+\s*\(\s*"([^"\s]*\.mem)"\s*\)} $text] { lappend mems [file tail $m] }
    return [list $mods [lsort -unique $mems]]
}
# module names instantiated in a Verilog module body ("name #(" or "name inst (")
proc ::rec::instantiations {body} {
    regsub -all {\(\*.*?\*\)} $body " " body
    set out {}
    foreach {all name inst} [regexp -all -inline {\m([A-Za-z_]\w*)(?:\s*#\s*\(|\s+([A-Za-z_]\w*)\s*\()} $body] {
        if {$name ni $::rec::keywords && $inst ni $::rec::keywords} { lappend out $name }
    }
    return [lsort -unique $out]
}
# split at top-level commas (outside (), [], {} and strings)
proc ::rec::split_top {text} {
    set items {}
    set cur ""
    set depth 0
    set instr 0
    foreach ch [split $text ""] {
        if {$instr} {
            append cur $ch
            if {$ch eq "\""} { set instr 0 }
            continue
        }
        switch -- $ch {
            "\"" { set instr 1 }
            "(" - "\[" - "\{" { incr depth }
            ")" - "\]" - "\}" { incr depth -1 }
            "," { if {$depth == 0} { lappend items $cur; set cur ""; continue } }
        }
        append cur $ch
    }
    if {[string trim $cur] ne ""} { lappend items $cur }
    return $items
}
# index just past the parenthesis matching the one at $i
proc ::rec::match_paren {text i} {
    set depth 0
    set instr 0
    for {set k $i} {$k < [string length $text]} {incr k} {
        set ch [string index $text $k]
        if {$instr} { if {$ch eq "\""} { set instr 0 }; continue }
        if {$ch eq "\""} { set instr 1 } elseif {$ch eq "("} { incr depth } elseif {$ch eq ")"} {
            incr depth -1
            if {$depth == 0} { return [expr {$k + 1}] }
        }
    }
    error "unbalanced parentheses"
}
# The ANSI header of module $name in $path -> dict {params {NAME default-expr} ports {NAME {dir range attrs}}}
proc ::rec::parse_header {path name} {
    set fh [open $path r]
    set text [strip_comments [read $fh]]
    close $fh
    if {![regexp -indices "\\mmodule\\s+$name\\M" $text at]} { error "module $name not in $path" }
    set i [expr {[lindex $at 1] + 1}]
    regexp -start $i -indices {\S} $text nx
    set i [lindex $nx 0]
    set params [dict create]
    if {[string index $text $i] eq "#"} {
        set open [string first "(" $text $i]
        set close [match_paren $text $open]
        foreach item [split_top [string range $text [expr {$open + 1}] [expr {$close - 2}]]] {
            if {[regexp {^\s*(?:parameter\s+)?(?:integer\s+|int\s+|\[[^\]]*\]\s*)?(\w+)\s*=\s*(.+)$} $item -> pn pv]} {
                dict set params $pn [string trim $pv]
            }
        }
        set i $close
    }
    set open [string first "(" $text $i]
    set close [match_paren $text $open]
    set ports [dict create]
    set dir ""
    set range ""
    foreach item [split_top [string range $text [expr {$open + 1}] [expr {$close - 2}]]] {
        set attrs [dict create]
        foreach {all body} [regexp -all -inline {\(\*(.*?)\*\)} $item] {
            foreach {a k v} [regexp -all -inline {(\w+)\s*=\s*"([^"]*)"} $body] { dict set attrs [string toupper $k] $v }
        }
        regsub -all {\(\*.*?\*\)} $item " " item
        if {[regexp {^\s*(input|output|inout)?\s*(?:wire|reg|logic)?\s*(?:signed)?\s*(\[[^\]]*\])?\s*(\w+)\s*$} $item -> d r pname]} {
            if {$d ne ""} { set dir $d; set range $r } elseif {$r ne ""} { set range $r }
            if {$dir eq ""} { error "$path: port $pname has no direction (ANSI header expected)" }
            dict set ports $pname [dict create dir $dir range $range attrs $attrs]
        } else {
            error "$path: cannot read port declaration '[string trim $item]'"
        }
    }
    return [dict create params $params ports $ports]
}
proc ::rec::eval_width {range values} {
    if {$range eq ""} { return 1 }
    set e [string trim $range {[] }]
    regsub -all {\$clog2} $e clog2 e
    foreach {k v} $values { regsub -all "\\m$k\\M" $e "($v)" e }
    if {![regexp {^(.+):(.+)$} $e -> hi lo]} { error "range $range" }
    return [expr {abs(int([expr $hi]) - int([expr $lo])) + 1}]
}
# Pins and interface pins of a module reference, inferred as Vivado does: AXI-Stream interfaces from
# <prefix>_tdata/_tvalid/_tready(/_tlast) (or X_INTERFACE_INFO), clocks and resets by X_INTERFACE_INFO or
# name, associations from the clock's X_INTERFACE_PARAMETER ASSOCIATED_BUSIF.
proc ::rec::module_ports {cell} {
    variable S
    set hdr [dict get $S(cells) $cell header]
    set values {}
    dict for {k v} [dict get $hdr params] {
        set cv [dict get $S(cells) $cell cfg [string toupper $k]]
        lappend values $k $cv
    }
    set P [dict create]
    set I [dict create]
    set groups [dict create]
    set assoc [dict create]
    dict for {pn p} [dict get $hdr ports] {
        set info [expr {[dict exists $p attrs X_INTERFACE_INFO] ? [dict get $p attrs X_INTERFACE_INFO] : ""}]
        set par [expr {[dict exists $p attrs X_INTERFACE_PARAMETER] ? [dict get $p attrs X_INTERFACE_PARAMETER] : ""}]
        set d [expr {[dict get $p dir] eq "input" ? "I" : "O"}]
        if {[regexp {interface:axis:[\d.]+\s+(\w+)\s+(\w+)} $info -> iname sig] ||
            [regexp {^(\w+)_(tdata|tvalid|tready|tlast|tkeep|tuser)$} $pn -> iname sig]} {
            dict set groups $iname [string tolower $sig] [list $d [dict get $p range]]
            continue
        }
        if {[string match *signal:clock* $info] || [regexp {(^|_)(ap_clk|aclk|clk)$} $pn]} {
            dict set P $pn [dict create dir $d type clk pol any req [expr {$d eq "I"}]]
            if {[regexp {ASSOCIATED_BUSIF\s+([\w:]+)} $par -> busifs]} {
                foreach b [split $busifs :] { dict set assoc $b $pn }
            }
            continue
        }
        if {[string match *signal:reset* $info] || [regexp {(rst|reset)(_n)?$} $pn -> base low]} {
            set pol [expr {[string match *ACTIVE_LOW* $par] || [string match *_n $pn] ? "low" : "high"}]
            dict set P $pn [dict create dir $d type rst pol $pol req [expr {$d eq "I"}]]
            continue
        }
        dict set P $pn [dict create dir $d type data pol any req 0]
    }
    dict for {iname sigs} $groups {
        foreach need {tdata tvalid tready} {
            if {![dict exists $sigs $need]} { error "module reference $cell: AXI-Stream $iname lacks ${iname}_$need" }
        }
        set mode [expr {[lindex [dict get $sigs tvalid] 0] eq "I" ? "Slave" : "Master"}]
        if {![dict exists $assoc $iname]} {
            error "module reference $cell: no clock lists $iname in ASSOCIATED_BUSIF (X_INTERFACE_PARAMETER on the clock port): Vivado would not know its clock"
        }
        set w [eval_width [lindex [dict get $sigs tdata] 1] $values]
        dict set I $iname [list mode $mode bus axis width $w clk [dict get $assoc $iname] req 1 seg 0 ext 0]
    }
    return [list $P $I]
}
proc ::rec::ports {cell} {
    variable S
    if {[dict get $S(cells) $cell kind] eq "module"} { return [module_ports $cell] }
    return [ip_ports $cell]
}

# ---- helpers ---------------------------------------------------------------------------------------------
proc ::rec::need_project {cmd} { variable S; if {$S(project) eq ""} { fail $cmd "no open project" } }
proc ::rec::need_bd {cmd} { variable S; need_project $cmd; if {$S(bd) eq ""} { fail $cmd "no open block design (create_bd_design first)" } }
proc ::rec::touch {path {text ""}} {
    file mkdir [file dirname $path]
    set fh [open $path w]
    puts -nonewline $fh $text
    close $fh
}
proc ::rec::flat {pos} { set out {}; foreach p $pos { foreach x $p { lappend out $x } }; return $out }
proc ::rec::cellname {obj} { return [string trimleft $obj /] }
proc ::rec::modified {} { variable S; incr S(gen) }
proc ::rec::check_value {cmd cell name value legal} {
    switch -- [lindex $legal 0] {
        enum { if {$value ni [lrange $legal 1 end]} { fail $cmd "$cell: CONFIG.$name = '$value' not one of [lrange $legal 1 end]" } }
        int {
            if {![string is integer -strict $value] || $value < [lindex $legal 1] || $value > [lindex $legal 2]} {
                fail $cmd "$cell: CONFIG.$name = '$value' not an integer in [lindex $legal 1]..[lindex $legal 2]"
            }
        }
        num {
            if {![string is double -strict $value] || $value < [lindex $legal 1] || $value > [lindex $legal 2]} {
                fail $cmd "$cell: CONFIG.$name = '$value' not a number in [lindex $legal 1]..[lindex $legal 2]"
            }
        }
        ro { fail $cmd "$cell: CONFIG.$name is read-only" }
    }
}
# kind of a Vivado object: cell | run | project | fileset | file | path | ipdef
proc ::rec::kind {obj} {
    variable S
    variable ip
    if {[string index $obj 0] eq "/" && [dict exists $S(cells) [cellname $obj]]} { return cell }
    if {[dict exists $S(runs) $obj]} { return run }
    if {$obj eq $S(project) && $obj ne ""} { return project }
    if {$obj in {sources_1 constrs_1 sim_1}} { return fileset }
    if {[dict exists $S(files) $obj]} { return file }
    if {[string match timing_path:* $obj]} { return path }
    if {[info exists ip($obj)]} { return ipdef }
    return ""
}

# ---- the commands ----------------------------------------------------------------------------------------
namespace eval ::rec::impl { namespace upvar ::rec S S }
proc ::rec::impl::fail {cmd msg} { ::rec::fail $cmd $msg }

proc ::rec::impl::version {o p} {
    return [expr {[info exists ::env(SURGE_STUB_VIVADO_VERSION)] ? $::env(SURGE_STUB_VIVADO_VERSION) : "2022.2"}]
}
proc ::rec::impl::set_param {o p} {
    lassign $p name value
    if {$name ni {board.repoPaths general.maxThreads tcl.collectionResultDisplayLimit}} {
        fail set_param "parameter $name not in the stand-in's table"
    }
    if {$name eq "board.repoPaths"} {
        foreach d $value { if {![file isdirectory $d]} { ::rec::warn set_param "board repo $d is not a directory" } }
    }
    return ""
}
proc ::rec::impl::create_project {o p} {
    variable S
    if {![dict exists $o -part]} { fail create_project "stand-in rule: give -part (the board's FPGA part)" }
    set part [dict get $o -part]
    if {![regexp {^x[a-z]{1,3}\d+[a-z]*[-a-z0-9]*$} $part]} { fail create_project "'$part' does not look like a Xilinx part" }
    lassign [concat $p {project_1 .}] name dir
    if {[llength $p] == 1} { set dir . }
    set dir [file normalize $dir]
    if {[file exists [file join $dir $name.xpr]] && ![dict exists $o -force]} {
        fail create_project "project $name already exists in $dir (use -force)"
    }
    file mkdir $dir
    ::rec::touch [file join $dir $name.xpr] "stand-in project\n"
    array set S [list project $name proj_dir $dir part $part board_part "" files {} modules {} top "" bd "" \
        runs [dict create synth_1 {launched 0 done 0} impl_1 {launched 0 done 0}] design ""]
    return $name
}
proc ::rec::impl::current_project {o p} { variable S; ::rec::need_project current_project; return $S(project) }
proc ::rec::impl::get_board_parts {o p} {
    if {[info exists ::env(SURGE_STUB_NO_BOARD_FILES)] && $::env(SURGE_STUB_NO_BOARD_FILES) eq "1"} { return "" }
    set out {}
    foreach pat [::rec::flat $p] {
        if {![regexp {^[\w.-]+:[\w.-]+:part\d+:[\d.]+$} $pat]} {
            fail get_board_parts "'$pat' is not a board part VLNV (vendor:board:part0:version)"
        }
        lappend out $pat
    }
    return $out
}
proc ::rec::impl::get_ipdefs {o p} {
    variable ::rec::ip
    set out {}
    foreach v [::rec::flat $p] {
        if {[string first * $v] >= 0 || [llength [split $v :]] != 4} {
            fail get_ipdefs "stand-in rule: pinned VLNVs only (vendor:library:name:version), got '$v'"
        }
        if {[info exists ip($v)]} { lappend out $v }
    }
    return $out
}
proc ::rec::impl::add_files {o p} {
    variable S
    ::rec::need_project add_files
    set added {}
    foreach f [::rec::flat $p] {
        set f [file normalize $f]
        if {![file isfile $f]} { fail add_files "no such file: $f" }
        switch -- [file extension $f] {
            .v { set type Verilog } .sv { set type SystemVerilog } .vh { set type {Verilog Header} }
            .mem { set type {Memory Initialization Files} } .xdc { set type XDC }
            default { fail add_files "file type of $f not modeled" }
        }
        set fset [expr {[dict exists $o -fileset] ? [dict get $o -fileset] : "sources_1"}]
        dict set S(files) $f [dict create FILE_TYPE $type FILESET $fset]
        if {$type in {Verilog SystemVerilog}} {
            lassign [::rec::scan_hdl $f] mods mems
            dict set S(files) $f MEMS $mems
            foreach {m body} $mods {
                if {[dict exists $S(modules) $m] && [dict get $S(modules) $m file] ne $f} {
                    fail add_files "module $m defined twice: [dict get $S(modules) $m file] and $f"
                }
                dict set S(modules) $m [dict create file $f body $body]
            }
        }
        lappend added $f
    }
    return $added
}
proc ::rec::impl::get_files {o p} {
    variable S
    ::rec::need_project get_files
    set out {}
    foreach pat [::rec::flat $p] {
        set hit 0
        foreach f [dict keys $S(files)] {
            if {[string match $pat $f] || [string match $pat [file tail $f]] || [file normalize $pat] eq $f} {
                if {$f ni $out} { lappend out $f }
                set hit 1
            }
        }
        if {!$hit} { ::rec::warn get_files "no file matches '$pat'" }
    }
    return $out
}
proc ::rec::impl::set_property {o p} {
    variable S
    variable ::rec::ip
    if {[dict exists $o -dict]} {
        set pairs [dict get $o -dict]
        set objs [::rec::flat $p]
        if {[llength $pairs] % 2} { fail set_property "-dict needs name value pairs" }
    } else {
        if {[llength $p] < 3} { fail set_property "needs <name> <value> <objects> (or -dict)" }
        set pairs [lrange $p 0 1]
        set objs [::rec::flat [lrange $p 2 end]]
    }
    if {[llength $objs] == 0} { fail set_property "no objects (an empty get_* result?)" }
    foreach obj $objs {
        set k [::rec::kind $obj]
        foreach {name value} $pairs {
            set up [string toupper $name]
            switch -- $k {
                project {
                    if {$up ne "BOARD_PART" && $up ne "TARGET_LANGUAGE"} { fail set_property "project property $name not modeled" }
                    if {$up eq "BOARD_PART"} {
                        if {[llength [::rec::impl::get_board_parts {} [list $value]]] == 0} {
                            fail set_property "board part $value not installed"
                        }
                        set S(board_part) $value
                    }
                }
                file {
                    switch -- $up {
                        FILE_TYPE {
                            if {$value ni {Verilog SystemVerilog {Verilog Header} VHDL {Memory Initialization Files} XDC}} {
                                fail set_property "file_type '$value' unknown"
                            }
                            dict set S(files) $obj FILE_TYPE $value
                        }
                        SYNTH_CHECKPOINT_MODE {
                            if {[file extension $obj] ne ".bd"} { fail set_property "synth_checkpoint_mode is a block-design property" }
                            if {$value ni {None Singular Hierarchical}} { fail set_property "synth_checkpoint_mode '$value' not None|Singular|Hierarchical" }
                            dict set S(files) $obj SYNTH_CHECKPOINT_MODE $value
                        }
                        USED_IN_SYNTHESIS - USED_IN_SIMULATION - USED_IN_IMPLEMENTATION - IS_GLOBAL_INCLUDE {
                            dict set S(files) $obj $up $value
                        }
                        default { fail set_property "file property $name not modeled" }
                    }
                }
                fileset {
                    if {$up ne "TOP"} { fail set_property "fileset property $name not modeled" }
                    if {![dict exists $S(modules) $value]} { fail set_property "top '$value' is no module of the project's sources" }
                    set S(top) $value
                }
                cell {
                    set cell [::rec::cellname $obj]
                    if {![string match CONFIG.* $up]} { fail set_property "cell property $name not modeled" }
                    set par [string range $up 7 end]
                    if {![dict exists $S(cells) $cell cfg $par]} {
                        fail set_property "$cell has no parameter $par ([dict get $S(cells) $cell vlnv])"
                    }
                    set legal [dict get $S(cells) $cell legal $par]
                    ::rec::check_value set_property $cell $par $value $legal
                    dict set S(cells) $cell cfg $par $value
                    ::rec::modified
                }
                run { if {$up ne "STRATEGY" && ![string match STEPS.* $up]} { fail set_property "run property $name not modeled" } }
                default { fail set_property "'$obj' is no object the stand-in knows" }
            }
        }
    }
    return ""
}
proc ::rec::impl::get_property {o p} {
    variable S
    lassign $p name obj
    if {[llength $obj] != 1} { fail get_property "needs exactly one object, got [llength $obj]: '$obj'" }
    set up [string toupper $name]
    switch -- [::rec::kind $obj] {
        run {
            set r [dict get $S(runs) $obj]
            switch -- $up {
                PROGRESS { return [expr {[dict exists $r progress] ? [dict get $r progress] : "0%"}] }
                STATUS { return [expr {[dict exists $r status] ? [dict get $r status] : "Not started"}] }
                DIRECTORY { return [file join $S(proj_dir) $S(project).runs $obj] }
                NAME { return $obj }
            }
        }
        path {
            if {$up eq "SLACK"} {
                set var [expr {$obj eq "timing_path:setup" ? "SURGE_STUB_SETUP_SLACK" : "SURGE_STUB_HOLD_SLACK"}]
                set v [expr {$obj eq "timing_path:setup" ? "0.412" : "0.031"}]
                if {[info exists ::env($var)]} { set v $::env($var) }
                return $v
            }
        }
        cell {
            set cell [::rec::cellname $obj]
            if {$up eq "VLNV"} { return [dict get $S(cells) $cell vlnv] }
            if {$up eq "NAME"} { return $cell }
            if {[string match CONFIG.* $up] && [dict exists $S(cells) $cell cfg [string range $up 7 end]]} {
                return [dict get $S(cells) $cell cfg [string range $up 7 end]]
            }
        }
        project { if {$up eq "BOARD_PART"} { return $S(board_part) }; if {$up eq "PART"} { return $S(part) } }
        file { if {[dict exists $S(files) $obj $up]} { return [dict get $S(files) $obj $up] } }
        ipdef { if {$up eq "VLNV"} { return $obj } }
        fileset { if {$up eq "TOP"} { return $S(top) } }
    }
    fail get_property "property $name of '$obj' not modeled"
}
proc ::rec::impl::update_compile_order {o p} { ::rec::need_project update_compile_order; return "" }
proc ::rec::impl::current_fileset {o p} {
    ::rec::need_project current_fileset
    if {[dict exists $o -constrset]} { return constrs_1 }
    if {[dict exists $o -simset]} { return sim_1 }
    return sources_1
}
proc ::rec::impl::create_bd_design {o p} {
    variable S
    ::rec::need_project create_bd_design
    set name [lindex $p 0]
    set S(bd) $name
    set S(bd_file) [file join $S(proj_dir) $S(project).srcs sources_1 bd $name $name.bd]
    ::rec::touch $S(bd_file) "stand-in block design\n"
    dict set S(files) $S(bd_file) [dict create FILE_TYPE {Block Designs} FILESET sources_1 SYNTH_CHECKPOINT_MODE Hierarchical]
    set S(cells) {}
    set S(nets) {}
    set S(intf) {}
    ::rec::modified
    return $name
}
proc ::rec::impl::create_bd_cell {o p} {
    variable S
    variable ::rec::ip
    ::rec::need_bd create_bd_cell
    set name [lindex $p 0]
    if {![regexp {^[A-Za-z_]\w*$} $name]} { fail create_bd_cell "bad cell name '$name'" }
    if {[dict exists $S(cells) $name]} { fail create_bd_cell "cell $name exists" }
    set type [expr {[dict exists $o -type] ? [dict get $o -type] : "ip"}]
    switch -- $type {
        ip {
            if {![dict exists $o -vlnv]} { fail create_bd_cell "-type ip needs -vlnv" }
            set vlnv [dict get $o -vlnv]
            if {[string first * $vlnv] >= 0 || ![regexp {^[\w.]+:[\w.]+:\w+:\d+\.\d+$} $vlnv]} {
                fail create_bd_cell "stand-in rule: VLNV '$vlnv' must be pinned (vendor:library:name:version)"
            }
            if {![info exists ip($vlnv)]} { fail create_bd_cell "VLNV $vlnv not in the stand-in's IP table" }
            set cfg [dict create]
            set legal [dict create]
            dict for {k v} $ip($vlnv) { dict set cfg $k [lindex $v 0]; dict set legal $k [lindex $v 1] }
            dict set S(cells) $name [dict create kind ip vlnv $vlnv cfg $cfg legal $legal external {}]
        }
        module {
            if {![dict exists $o -reference]} { fail create_bd_cell "-type module needs -reference" }
            set mod [dict get $o -reference]
            if {![dict exists $S(modules) $mod]} { fail create_bd_cell "module $mod is in no added source file" }
            set file [dict get $S(modules) $mod file]
            if {[file extension $file] ni {.v .vhd}} {
                fail create_bd_cell "stand-in rule (UG994): the top of a module reference must be Verilog or VHDL, $file is not"
            }
            # every module instantiated below it (in Verilog files) must be defined in an added file
            set todo [list $mod]
            set seen {}
            while {[llength $todo]} {
                set todo [lassign $todo m]
                if {$m in $seen} continue
                lappend seen $m
                set mf [dict get $S(modules) $m file]
                if {[file extension $mf] ne ".v"} continue
                foreach sub [::rec::instantiations [dict get $S(modules) $m body]] {
                    if {![dict exists $S(modules) $sub]} {
                        fail create_bd_cell "module $sub (instantiated in $m, [file tail $mf]) is in no added source file"
                    }
                    lappend todo $sub
                }
            }
            set hdr [::rec::parse_header $file $mod]
            set cfg [dict create]
            set legal [dict create]
            set known {}
            dict for {k v} [dict get $hdr params] {
                # defaults may refer to earlier parameters: evaluate them in order where plain arithmetic
                set e $v
                foreach {pk pv} $known { regsub -all "\\m$pk\\M" $e "($pv)" e }
                regsub -all {\$clog2} $e clog2 e
                if {![catch {expr $e} ev]} { set v $ev }
                lappend known $k $v
                dict set cfg [string toupper $k] $v
                dict set legal [string toupper $k] {int -2147483648 2147483647}
            }
            dict set S(cells) $name [dict create kind module vlnv module:$mod module $mod header $hdr cfg $cfg \
                legal $legal external {}]
            ::rec::module_ports $name  ;# infer now: an error here is an error at creation, as in Vivado
        }
        default { fail create_bd_cell "-type $type not modeled (ip | module)" }
    }
    ::rec::modified
    return /$name
}
proc ::rec::impl::get_bd_cells {o p} {
    variable S
    ::rec::need_bd get_bd_cells
    set pats [::rec::flat $p]
    if {[llength $pats] == 0} { set pats * }
    set out {}
    foreach pat $pats {
        set hit 0
        foreach c [dict keys $S(cells)] {
            if {[string match [string trimleft $pat /] $c]} { lappend out /$c; set hit 1 }
        }
        if {!$hit} { ::rec::warn get_bd_cells "no cell matches '$pat'" }
    }
    return [lsort -unique $out]
}
proc ::rec::find_pins {cmd which o p} {
    variable S
    ::rec::need_bd $cmd
    set idx [expr {$which eq "intf" ? 1 : 0}]
    set out {}
    if {[dict exists $o -of_objects]} {
        foreach c [dict get $o -of_objects] {
            set c [cellname $c]
            if {![dict exists $S(cells) $c]} { fail $cmd "-of_objects: no cell $c" }
            foreach n [dict keys [lindex [ports $c] $idx]] { lappend out /$c/$n }
        }
        return $out
    }
    foreach pat [flat $p] {
        set pat [string trimleft $pat /]
        set slash [string last / $pat]
        if {$slash < 0} { fail $cmd "'$pat': stand-in needs cell/pin" }
        set cpat [string range $pat 0 [expr {$slash - 1}]]
        set ppat [string range $pat [expr {$slash + 1}] end]
        set hit 0
        foreach c [dict keys $S(cells)] {
            if {![string match $cpat $c]} continue
            foreach n [dict keys [lindex [ports $c] $idx]] {
                if {[string match $ppat $n]} { lappend out /$c/$n; set hit 1 }
            }
        }
        if {!$hit} { warn $cmd "no [expr {$idx ? {interface pin} : {pin}}] matches '$pat'" }
    }
    return $out
}
proc ::rec::impl::get_bd_pins {o p} { return [::rec::find_pins get_bd_pins pin $o $p] }
proc ::rec::impl::get_bd_intf_pins {o p} { return [::rec::find_pins get_bd_intf_pins intf $o $p] }
proc ::rec::pin_info {cmd obj which} {
    variable S
    set parts [split [string trimleft $obj /] /]
    if {[llength $parts] != 2} { fail $cmd "'$obj' is no cell/pin object" }
    lassign $parts c n
    if {![dict exists $S(cells) $c]} { fail $cmd "no cell $c (for '$obj')" }
    set d [lindex [ports $c] [expr {$which eq "intf" ? 1 : 0}]]
    if {![dict exists $d $n]} {
        fail $cmd "$c has no [expr {$which eq {intf} ? {interface pin} : {pin}}] $n in its current configuration (has: [lsort [dict keys $d]])"
    }
    return [dict get $d $n]
}
proc ::rec::impl::apply_bd_automation {o p} {
    variable S
    ::rec::need_bd apply_bd_automation
    set rule [dict get $o -rule]
    set objs [::rec::flat $p]
    if {[llength $objs] != 1} { fail apply_bd_automation "stand-in: one target cell expected, got '$objs'" }
    set c [::rec::cellname [lindex $objs 0]]
    if {![dict exists $S(cells) $c]} { fail apply_bd_automation "no cell $c" }
    set vlnv [dict get $S(cells) $c vlnv]
    if {![info exists ::rec::rules($vlnv)]} { fail apply_bd_automation "no automation rule modeled for $vlnv" }
    set r $::rec::rules($vlnv)
    if {$rule ne [dict get $r rule]} { fail apply_bd_automation "rule $rule does not apply to $vlnv (expected [dict get $r rule])" }
    set config [expr {[dict exists $o -config] ? [dict get $o -config] : {}}]
    if {[llength $config] % 2} { fail apply_bd_automation "-config needs key value pairs: '$config'" }
    foreach {k v} $config {
        if {$k ni [dict get $r keys]} { fail apply_bd_automation "-config key $k unknown for $rule (know [dict get $r keys])" }
        if {$k eq "apply_board_preset" && $v eq "1"} {
            if {$S(board_part) eq ""} { fail apply_bd_automation "apply_board_preset needs the project's board_part set first" }
            foreach {pk pv} [dict get $r preset] { dict set S(cells) $c cfg $pk $pv }
        }
        if {$k eq "make_external"} {
            foreach e [split $v ,] {
                set e [string trim $e]
                ::rec::pin_info apply_bd_automation /$c/$e intf
                dict set S(cells) $c external [concat [dict get $S(cells) $c external] [list $e]]
            }
        }
    }
    ::rec::modified
    return ""
}
proc ::rec::impl::connect_bd_intf_net {o p} {
    variable S
    ::rec::need_bd connect_bd_intf_net
    set a [lindex $p 0]
    set b [lindex $p 1]
    if {[llength $a] != 1 || [llength $b] != 1} {
        fail connect_bd_intf_net "needs two interface pins, got '$a' and '$b' (did a get_bd_intf_pins match nothing?)"
    }
    set ia [::rec::pin_info connect_bd_intf_net $a intf]
    set ib [::rec::pin_info connect_bd_intf_net $b intf]
    foreach x [list $a $b] { if {[dict exists $S(intf) $x]} { fail connect_bd_intf_net "$x is already connected to [dict get $S(intf) $x]" } }
    if {[dict get $ia bus] ne [dict get $ib bus]} { fail connect_bd_intf_net "$a ([dict get $ia bus]) and $b ([dict get $ib bus]) are different bus types" }
    if {[lsort [list [dict get $ia mode] [dict get $ib mode]]] ne {Master Slave}} {
        fail connect_bd_intf_net "$a and $b are both [dict get $ia mode] interfaces"
    }
    dict set S(intf) $a $b
    dict set S(intf) $b $a
    ::rec::modified
    return ""
}
proc ::rec::impl::connect_bd_net {o p} {
    variable S
    ::rec::need_bd connect_bd_net
    set objs [::rec::flat $p]
    if {[llength $objs] < 2} { fail connect_bd_net "needs at least two pins, got '$objs' (did a get_bd_pins match nothing?)" }
    set nets {}
    foreach x $objs {
        ::rec::pin_info connect_bd_net $x pin
        if {[dict exists $S(nets) $x]} { lappend nets [dict get $S(nets) $x] }
    }
    set id [expr {[llength $nets] ? [lindex $nets 0] : [incr S(next_net)]}]
    dict for {pin n} $S(nets) { if {$n in $nets} { dict set S(nets) $pin $id } }
    foreach x $objs { dict set S(nets) $x $id }
    set drivers {}
    dict for {pin n} $S(nets) {
        if {$n == $id && [dict get [::rec::pin_info connect_bd_net $pin pin] dir] eq "O"} { lappend drivers $pin }
    }
    if {[llength $drivers] > 1} { fail connect_bd_net "net would have [llength $drivers] drivers: $drivers" }
    ::rec::modified
    return ""
}
proc ::rec::impl::assign_bd_address {o p} {
    variable S
    ::rec::need_bd assign_bd_address
    set S(addr_gen) $S(gen)
    set segs {}
    dict for {c cell} $S(cells) {
        dict for {n i} [lindex [::rec::ports $c] 1] {
            if {[dict get $i seg]} { lappend segs "SEG_${c}_${n}" }
        }
    }
    return $segs
}
# aximm slaves with address segments reachable from master interface pin $m (through crossbars)
proc ::rec::reach {m} {
    variable S
    set out {}
    set todo [list $m]
    set seen {}
    while {[llength $todo]} {
        set todo [lassign $todo x]
        if {$x in $seen || ![dict exists $S(intf) $x]} continue
        lappend seen $x
        set y [dict get $S(intf) $x]
        set c [cellname [lindex [split [string trimleft $y /] /] 0]]
        set info [pin_info reach $y intf]
        if {[dict exists $info xbar]} {
            dict for {n i} [lindex [ports $c] 1] { if {[dict get $i mode] eq "Master"} { lappend todo /$c/$n } }
        } elseif {[dict get $info seg]} {
            lappend out $y
        }
    }
    return $out
}
proc ::rec::impl::validate_bd_design {o p} {
    variable S
    ::rec::need_bd validate_bd_design
    set cmd validate_bd_design
    # connected pins must still exist (a CONFIG change after connecting can remove them)
    dict for {x n} $S(nets) { ::rec::pin_info $cmd $x pin }
    dict for {x y} $S(intf) { ::rec::pin_info $cmd $x intf }
    # nets: one driver; clock inputs driven by a clock, resets by a reset of the same polarity
    set byn [dict create]
    dict for {x n} $S(nets) { dict lappend byn $n $x }
    dict for {n pins} $byn {
        set drv {}
        foreach x $pins { if {[dict get [::rec::pin_info $cmd $x pin] dir] eq "O"} { lappend drv $x } }
        if {[llength $drv] != 1} { fail $cmd "net of [join $pins {, }] has [llength $drv] drivers" }
        set d [::rec::pin_info $cmd [lindex $drv 0] pin]
        foreach x $pins {
            set i [::rec::pin_info $cmd $x pin]
            if {[dict get $i dir] ne "I"} continue
            if {[dict get $i type] in {clk rst} && [dict get $i type] ne [dict get $d type]} {
                fail $cmd "$x ([dict get $i type]) driven by $drv ([dict get $d type])"
            }
            if {[dict get $i type] eq "rst" && "any" ni [list [dict get $i pol] [dict get $d pol]] &&
                [dict get $i pol] ne [dict get $d pol]} {
                fail $cmd "reset polarity: $x is active-[dict get $i pol], its driver $drv active-[dict get $d pol]"
            }
        }
    }
    dict for {c cell} $S(cells) {
        lassign [::rec::ports $c] P I
        dict for {n i} $P {
            if {[dict get $i req] && ![dict exists $S(nets) /$c/$n]} {
                fail $cmd "[dict get $i type] pin /$c/$n is not connected"
            }
        }
        dict for {n i} $I {
            if {[dict get $i ext] && $n ni [dict get $cell external]} {
                fail $cmd "/$c/$n must be made external (the board's PS pins)"
            }
            if {[dict get $i req] && ![dict exists $S(intf) /$c/$n]} { fail $cmd "interface /$c/$n is not connected" }
            set clk [dict get $i clk]
            # an interface whose clock is not wired would have no frequency (BD 41-758 style)
            if {[dict exists $S(intf) /$c/$n] && $clk ne "" && ![dict exists $S(nets) /$c/$clk]} {
                fail $cmd "/$c/$n is connected but its clock /$c/$clk is not"
            }
        }
        if {[dict get $cell vlnv] eq "xilinx.com:ip:axi_dma:7.1"} {
            foreach {mm st} {c_m_axi_mm2s_data_width c_m_axis_mm2s_tdata_width c_m_axi_s2mm_data_width c_s_axis_s2mm_tdata_width} {
                if {[::rec::cfg $c $st] > [::rec::cfg $c $mm]} { fail $cmd "$c: $st ([::rec::cfg $c $st]) exceeds $mm ([::rec::cfg $c $mm])" }
            }
        }
    }
    # interface nets: AXI-Stream widths equal, both ends in one clock domain
    dict for {x y} $S(intf) {
        if {[string compare $x $y] > 0} continue
        set ix [::rec::pin_info $cmd $x intf]
        set iy [::rec::pin_info $cmd $y intf]
        if {[dict get $ix bus] eq "axis" && [dict get $ix width] != [dict get $iy width]} {
            fail $cmd "AXI-Stream $x is [dict get $ix width] bits wide, $y [dict get $iy width] bits (TDATA_NUM_BYTES mismatch)"
        }
        set cx /[lindex [split [string trimleft $x /] /] 0]/[dict get $ix clk]
        set cy /[lindex [split [string trimleft $y /] /] 0]/[dict get $iy clk]
        if {[dict exists $S(nets) $cx] && [dict exists $S(nets) $cy] && [dict get $S(nets) $cx] != [dict get $S(nets) $cy]} {
            fail $cmd "$x and $y are clocked by different nets ($cx, $cy): FREQ_HZ would differ"
        }
    }
    # addresses: every register/memory slave reachable from a master, every memory master reaches a slave
    if {$S(addr_gen) != $S(gen)} { fail $cmd "address segments unassigned (assign_bd_address after the last change)" }
    set reached {}
    dict for {c cell} $S(cells) {
        dict for {n i} [lindex [::rec::ports $c] 1] {
            if {[dict get $i bus] ne "aximm" || [dict get $i mode] ne "Master" || [dict exists $i xbar]} continue
            if {![dict exists $S(intf) /$c/$n]} continue
            set r [::rec::reach /$c/$n]
            if {![llength $r]} { fail $cmd "master /$c/$n reaches no slave with an address segment" }
            set reached [concat $reached $r]
        }
    }
    dict for {c cell} $S(cells) {
        dict for {n i} [lindex [::rec::ports $c] 1] {
            if {[dict get $i seg] && [dict exists $S(intf) /$c/$n] && "/$c/$n" ni $reached} {
                fail $cmd "slave /$c/$n is reachable from no master: no address"
            }
        }
    }
    set S(valid_gen) $S(gen)
    return ""
}
proc ::rec::impl::save_bd_design {o p} { variable S; ::rec::need_bd save_bd_design; set S(saved_gen) $S(gen); return "" }
proc ::rec::impl::make_wrapper {o p} {
    variable S
    ::rec::need_bd make_wrapper
    set f [dict get $o -files]
    if {$f ne $S(bd_file)} { fail make_wrapper "-files '$f' is not the block design file $S(bd_file)" }
    if {$S(valid_gen) != $S(gen)} { fail make_wrapper "stand-in rule: validate_bd_design after the last change first" }
    if {$S(saved_gen) != $S(gen)} { fail make_wrapper "stand-in rule: save_bd_design after the last change first" }
    set mod $S(bd)_wrapper
    if {[dict exists $o -import]} {
        set path [file join $S(proj_dir) $S(project).srcs sources_1 imports hdl $mod.v]
    } else {
        set path [file join $S(proj_dir) $S(project).gen sources_1 bd $S(bd) hdl $mod.v]
    }
    ::rec::touch $path "// stand-in wrapper\nmodule $mod ();\nendmodule\n"
    if {[dict exists $o -import]} {
        dict set S(files) $path [dict create FILE_TYPE Verilog FILESET sources_1 MEMS {}]
        dict set S(modules) $mod [dict create file $path body ""]
    }
    set S(wrapper) $mod
    return $path
}
proc ::rec::impl::get_runs {o p} {
    variable S
    ::rec::need_project get_runs
    set out {}
    foreach r [::rec::flat $p] {
        if {![dict exists $S(runs) $r]} { fail get_runs "no run $r" }
        lappend out $r
    }
    return $out
}
proc ::rec::run_dir {r} { variable S; return [file join $S(proj_dir) $S(project).runs $r] }
proc ::rec::finish_run {r step} {
    variable S
    set failing [expr {[info exists ::env(SURGE_STUB_FAIL_RUN)] && $::env(SURGE_STUB_FAIL_RUN) eq $r}]
    set log "stand-in $r log\n"
    if {$r eq "synth_1" && [info exists ::env(SURGE_STUB_SYNTH_LOG)]} { append log $::env(SURGE_STUB_SYNTH_LOG) "\n" }
    touch [file join [run_dir $r] runme.log] $log
    if {$failing} {
        dict set S(runs) $r [dict create launched 1 done 0 progress 0% status "$step ERROR"]
    } else {
        dict set S(runs) $r [dict create launched 1 done 1 progress 100% status "$step Complete!"]
    }
}
proc ::rec::impl::launch_runs {o p} {
    variable S
    ::rec::need_project launch_runs
    if {[dict exists $o -jobs] && (![string is integer -strict [dict get $o -jobs]] || [dict get $o -jobs] < 1)} {
        fail launch_runs "-jobs must be a positive integer"
    }
    set steps {opt_design power_opt_design place_design post_place_power_opt_design phys_opt_design route_design post_route_phys_opt_design write_bitstream}
    foreach r [::rec::flat $p] {
        if {![dict exists $S(runs) $r]} { fail launch_runs "no run $r" }
        if {[dict get $S(runs) $r launched]} { fail launch_runs "run $r was already launched (reset_run first)" }
        if {$r eq "synth_1" || ![dict get $S(runs) synth_1 launched]} {
            if {$S(top) eq ""} { fail launch_runs "no top module set" }
            if {$S(top) eq $S(wrapper) && ($S(valid_gen) != $S(gen) || $S(saved_gen) != $S(gen))} {
                fail launch_runs "block design changed since it was validated and saved"
            }
            # every ROM image the HDL names must be a project memory file (found by bare name)
            set memfiles {}
            dict for {f a} $S(files) { if {[dict get $a FILE_TYPE] eq "Memory Initialization Files"} { lappend memfiles [file tail $f] } }
            set named {}
            dict for {f a} $S(files) { if {[dict exists $a MEMS]} { set named [concat $named [dict get $a MEMS]] } }
            foreach m [lsort -unique $named] {
                # none.mem: the rtl generator's name for "no thresholds"; those layers never read it
                if {$m ni $memfiles && $m ne "none.mem"} {
                    fail launch_runs "$m is passed to an instance for \$readmemh but is no Memory Initialization File of the project"
                }
            }
            foreach m $memfiles {
                if {$m ni $named} { ::rec::warn launch_runs "memory file $m is named by no instance" }
            }
            if {[llength $named] && $S(bd_file) ne "" && [dict get $S(files) $S(bd_file) SYNTH_CHECKPOINT_MODE] ne "None"} {
                fail launch_runs "stand-in rule: the block design is synthesised out of context ([dict get $S(files) $S(bd_file) SYNTH_CHECKPOINT_MODE]); set synth_checkpoint_mode None so the module reference's \$readmemh files are read in synth_1"
            }
            ::rec::finish_run synth_1 synth_design
            if {$S(bd) ne ""} {
                ::rec::touch [file join $S(proj_dir) $S(project).gen sources_1 bd $S(bd) hw_handoff $S(bd).hwh] "<stand-in hwh/>\n"
            }
        }
        if {$r eq "impl_1"} {
            set to [expr {[dict exists $o -to_step] ? [dict get $o -to_step] : "route_design"}]
            if {$to ni $steps} { fail launch_runs "-to_step $to not one of $steps" }
            if {![dict get $S(runs) synth_1 done]} { fail launch_runs "impl_1 needs a completed synth_1" }
            ::rec::finish_run impl_1 $to
            if {$to eq "write_bitstream" && [dict get $S(runs) impl_1 done]} {
                ::rec::touch [file join [::rec::run_dir impl_1] $S(top).bit] "stand-in bitstream\n"
            }
        } elseif {[dict exists $o -to_step]} {
            fail launch_runs "-to_step applies to implementation runs"
        }
    }
    return ""
}
proc ::rec::impl::wait_on_run {o p} {
    variable S
    set r [lindex $p 0]
    if {![dict exists $S(runs) $r] || ![dict get $S(runs) $r launched]} { fail wait_on_run "run $r not launched" }
    return ""
}
proc ::rec::impl::open_run {o p} {
    variable S
    set r [lindex $p 0]
    if {![dict exists $S(runs) $r] || ![dict get $S(runs) $r done]} { fail open_run "run $r has not completed" }
    set S(design) $r
    return $r
}
proc ::rec::need_routed {cmd} {
    variable S
    if {$S(design) ne "impl_1"} { fail $cmd "no implemented design open (open_run impl_1)" }
}
proc ::rec::impl::report_timing_summary {o p} {
    ::rec::need_routed report_timing_summary
    if {[dict exists $o -file]} { ::rec::touch [dict get $o -file] "stand-in timing summary\n" }
    return ""
}
proc ::rec::impl::report_utilization {o p} {
    ::rec::need_routed report_utilization
    if {[dict exists $o -file]} { ::rec::touch [dict get $o -file] "stand-in utilization\n" }
    return ""
}
proc ::rec::impl::get_timing_paths {o p} {
    ::rec::need_routed get_timing_paths
    foreach k {-max_paths -nworst} {
        if {[dict exists $o $k] && (![string is integer -strict [dict get $o $k]] || [dict get $o $k] < 1)} {
            fail get_timing_paths "$k must be a positive integer"
        }
    }
    set dt [expr {[dict exists $o -delay_type] ? [dict get $o -delay_type] : "max"}]
    if {$dt ni {max min min_max max_rise max_fall min_rise min_fall}} { fail get_timing_paths "-delay_type $dt unknown" }
    if {[dict exists $o -setup]} {
        set kinds setup
    } elseif {[dict exists $o -hold]} {
        set kinds hold
    } else {
        switch -glob -- $dt { min_max { set kinds {setup hold} } max* { set kinds setup } default { set kinds hold } }
    }
    set out {}
    foreach k $kinds {
        # SURGE_STUB_<KIND>_SLACK=none: no timing path at all (nothing constrained)
        set var SURGE_STUB_[string toupper $k]_SLACK
        if {[info exists ::env($var)] && $::env($var) eq "none"} continue
        lappend out timing_path:$k
    }
    return $out
}
proc ::rec::impl::close_project {o p} {
    variable S
    ::rec::need_project close_project
    set S(project) ""
    set S(bd) ""
    return ""
}
