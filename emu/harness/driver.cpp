// The fast harness's C++ driver: one CPU model feeding the system top's cpu_req port, collecting cpu_resp,
// stepping the CSR bus for firmware and time-stamping the probe strobes. Compiled together with the
// Verilated model into a shared library and called from Python through ctypes (emu/harness/model.py).
//
// Python is entered only when run() returns: all accesses done, an interrupt line rose (firmware must
// run), a batch of cycles elapsed, or the system hung. Nothing here calls back into Python.
//
// Port layouts come from the generated harness_ports.h (emu/harness/codegen.py); records shared with
// numpy from harness_records.h. No field offset is written by hand in this file.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <utility>
#include <vector>
#include <memory>
#include <string>

#include "verilated.h"
#include "Vtop.h"
#include "Vtop___024root.h"
#include "harness_ports.h"
#include "harness_records.h"
#if HARNESS_AXI_MEM
#include "axi_memory.h"   // the memory component's DRAM, served in C++ (top built with external_dram)
#endif
#if HARNESS_LMEM
#include "local_memory.h"  // the ExCache's local memory (line_store="axi"), served in C++
#endif

#if HARNESS_TRACE_FST
#include "verilated_fst_c.h"
typedef VerilatedFstC TraceFile;
#elif HARNESS_TRACE_VCD
#include "verilated_vcd_c.h"
typedef VerilatedVcdC TraceFile;
#endif

#define EXPORT extern "C" __attribute__((visibility("default")))

// Required by Verilator when $time is used and no VerilatedContext time is advanced by the caller.
double sc_time_stamp() { return 0; }

// Verilator's settle of the combinational logic (defined in the Verilated model; used by idle skipping).
void Vtop___024root___eval_settle(Vtop___024root* vlSelf);

// Verilator's evaluation of the model without Vtop::eval_step's wrapper (defined in the Verilated model). The
// wrapper also runs the deleter of class objects and the end-of-eval message queue of threaded models (two mutexes
// and a thread-local look-up per call, ~2% of a cycle): this single-threaded design has neither classes nor
// threads. Used once the model is initialised (the first eval() goes through Vtop::eval).
void Vtop___024root___eval(Vtop___024root* vlSelf);

namespace {

// Verilator 5.048 detects the rising edge by comparing clk with its value at the previous eval(), kept
// in the root member below. Setting that member low lets one eval() with clk high be an edge. Whether
// the member exists is checked at compile time: without it every cycle takes two eval() calls, which
// gives the same results, only slower.
template <class Root>
constexpr bool can_force_edge = requires(Root* r) { r->__Vtrigprevexpr___TOP__clk__0 = 0; };

template <class Root>
inline void force_edge(Root* r) {
    if constexpr (can_force_edge<Root>) r->__Vtrigprevexpr___TOP__clk__0 = 0;
}

// The same for clk_in, the clock of a top's input registers (hw.system.top.HarnessTop).
template <class Root>
constexpr bool can_force_edge_in = requires(Root* r) { r->__Vtrigprevexpr___TOP__clk_in__0 = 0; };

template <class Root>
inline void force_edge_in(Root* r) {
    if constexpr (can_force_edge_in<Root>) r->__Vtrigprevexpr___TOP__clk_in__0 = 0;
}

// The same for clk_csr, the clock of the CSR bus's input registers (HarnessTop), raised only in the cycles whose
// CSR inputs differ from those last loaded; and whether the top has that clock at all.
template <class Root>
constexpr bool can_force_edge_csr = requires(Root* r) { r->__Vtrigprevexpr___TOP__clk_csr__0 = 0; };

template <class Root>
inline void force_edge_csr(Root* r) {
    if constexpr (can_force_edge_csr<Root>) r->__Vtrigprevexpr___TOP__clk_csr__0 = 0;
}

template <class Top>
constexpr bool has_clk_csr = requires(Top* t) { t->clk_csr = 0; };

enum RunStatus { RUN_DONE = 0, RUN_IRQ = 1, RUN_BATCH = 2, RUN_HANG = 3 };

// ---- Idle-cycle skipping (docs/system.md, "Idle-cycle skipping") ------------------------------------
//
// While the CPU model thinks with nothing in flight, the system often does nothing at all for many
// cycles: no frame on the links, no timer armed, no DRAM transaction. Such cycles are advanced without
// evaluating the model, exactly:
//
// * the model's state (the whole Verilated root: every register, memory and settled combinational value)
//   is compared before and after one evaluated cycle. If it did not change apart from the free-running
//   registers below and the combinational values that depend on them, and both links' lanes are empty,
//   the state is a fixed point: with the same inputs (CPU thinking, CSR bus idle, DRAM idle) every
//   further cycle would change only the free-running registers. (With the lanes empty, the links read
//   their clock and generator only when a beat enters, which would change a lane or a counter.)
// * the free-running registers are then set to their values n cycles later (each has a closed-form or
//   cheap update), the combinational logic is settled from them (Verilator's settle region), and the
//   harness's own counters advance by n.
// The registers are found by their Verilator names (checked at compile time: a model without them never
// skips) and checked at run time: if one of them does not advance as expected, skipping is switched off
// for the model's life. The set of bytes that depend on them is measured once, by moving them and
// settling, in the first idle state met. sim_tests/system/test_idle_skip.py compares runs with and
// without skipping, cycle counts and statistics bit for bit.
//
// Top-level signals reached through the root: the wrapper HarnessTop (instance "top") holds the system
// as "system"; the links are link_req/link_resp, the probe block's cycle counter is its decoder's value.

inline uint64_t xorshift64(uint64_t x) {   // hw/network/link.py _xorshift64
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

struct FreeRunning {
    uint32_t now_req, now_resp;     // the links' cycle counters (32 bits, wrap)
    uint64_t rng_req, rng_resp;     // the links' xorshift generators (one step per cycle)
    uint64_t cycle;                 // the probe block's 64-bit cycle counter

    FreeRunning after(uint64_t n) const {
        FreeRunning v = *this;
        v.now_req += (uint32_t)n;
        v.now_resp += (uint32_t)n;
        v.cycle += n;
        for (uint64_t i = 0; i < n; i++) {
            v.rng_req = xorshift64(v.rng_req);
            v.rng_resp = xorshift64(v.rng_resp);
        }
        return v;
    }
    bool operator==(const FreeRunning&) const = default;
};

#define SYS_M(path) top__DOT__system__DOT__##path
template <class Root>
constexpr bool has_free_running = requires(Root* r) {
    r->SYS_M(link_req__DOT__now); r->SYS_M(link_resp__DOT__now);
    r->SYS_M(link_req__DOT__rng); r->SYS_M(link_resp__DOT__rng);
    r->SYS_M(probe_block__DOT__decoder__DOT__value);
    r->SYS_M(link_req__DOT__fast_lane__DOT__level); r->SYS_M(link_req__DOT__slow_lane__DOT__level);
    r->SYS_M(link_resp__DOT__fast_lane__DOT__level); r->SYS_M(link_resp__DOT__slow_lane__DOT__level);
};

template <class Root>
FreeRunning get_free_running(const Root* r) {
    return {(uint32_t)r->SYS_M(link_req__DOT__now), (uint32_t)r->SYS_M(link_resp__DOT__now),
            (uint64_t)r->SYS_M(link_req__DOT__rng), (uint64_t)r->SYS_M(link_resp__DOT__rng),
            (uint64_t)r->SYS_M(probe_block__DOT__decoder__DOT__value)};
}

template <class Root>
void set_free_running(Root* r, const FreeRunning& v) {
    r->SYS_M(link_req__DOT__now) = v.now_req;
    r->SYS_M(link_resp__DOT__now) = v.now_resp;
    r->SYS_M(link_req__DOT__rng) = v.rng_req;
    r->SYS_M(link_resp__DOT__rng) = v.rng_resp;
    r->SYS_M(probe_block__DOT__decoder__DOT__value) = v.cycle;
}

template <class Root>
bool lanes_empty(const Root* r) {
    return r->SYS_M(link_req__DOT__fast_lane__DOT__level) == 0 && r->SYS_M(link_req__DOT__slow_lane__DOT__level) == 0
        && r->SYS_M(link_resp__DOT__fast_lane__DOT__level) == 0 && r->SYS_M(link_resp__DOT__slow_lane__DOT__level) == 0;
}
#undef SYS_M

// Cycles an interrupt line may stay high before run() returns again for it (firmware that needs the
// hardware to make progress before it can clear a cause gets another chance every so often).
constexpr uint64_t IRQ_RECHECK_CYCLES = 256;

inline void put_bits(uint32_t* w, int off, int width, uint64_t v) {
    for (int i = 0; i < width;) {
        int word = (off + i) >> 5, bit = (off + i) & 31;
        int take = 32 - bit < width - i ? 32 - bit : width - i;
        uint32_t mask = take == 32 ? 0xffffffffu : ((1u << take) - 1u);
        w[word] = (w[word] & ~(mask << bit)) | ((uint32_t)(v >> i) & mask) << bit;
        i += take;
    }
}

inline uint64_t get_bits(const uint32_t* w, int off, int width) {
    uint64_t v = 0;
    for (int i = 0; i < width;) {
        int word = (off + i) >> 5, bit = (off + i) & 31;
        int take = 32 - bit < width - i ? 32 - bit : width - i;
        uint64_t mask = take == 32 ? 0xffffffffull : ((1ull << take) - 1ull);
        v |= ((uint64_t)(w[word] >> bit) & mask) << i;
        i += take;
    }
    return v;
}

struct Harness {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vtop> top;
    Stats st;
    uint64_t cycle = 0;

    // CPU model state. The workload and results arrays belong to Python and are passed to each run().
    const Access* wl = nullptr;
    Result* res = nullptr;
    uint64_t n_end = 0;
    uint64_t issue_idx = 0;   // accesses issued from the current workload (all threads)
    // Hardware threads (docs/system.md, "CPU threads"): thread k issues rows [next, end) of the workload in
    // order, with its own think times and at most max_outstanding accesses of its own in flight. One thread
    // without h_threads: rows [start, n) of each run() call.
    struct Thread {
        uint64_t next = 0, end = 0;
        int64_t think_left = -1;   // -1: think time of row `next` not loaded yet
        uint64_t in_flight = 0;
    };
    std::vector<Thread> th{Thread{}};
    std::vector<uint64_t> thread_bounds;   // from h_threads: thread k has rows [b[k], b[k+1])
    size_t rr_next = 0;                    // round robin: the thread looked at first for the CPU port
    size_t req_thread = 0;                 // the thread whose request is on the port (req_valid)
    bool req_valid = false;
    uint32_t req_words[REQ_WORDS];
    uint32_t resp_words[RESP_WORDS];  // cpu_resp payload of the last cycle with cpu_resp.valid
    std::deque<std::pair<uint64_t, size_t>> outstanding;   // (row, thread), in request order
    uint64_t max_outstanding = 1;
    uint64_t last_progress = 0;
    uint64_t hang_cycles = 1000000;

    // CSR bus inputs for the next cycle, and the last r_data seen.
    uint32_t csr_addr = 0, csr_wdata = 0;
    bool csr_r = false, csr_w = false;
    uint32_t csr_rdata = 0;

    // Interrupts.
    bool irq_proc = false, irq_mem = false, irq_rose = false;
    uint64_t irq_returned_at = 0;

    // Miss-stage chain, per message: open timestamps at each boundary, consumed in order by the next one.
    std::deque<uint64_t> chain_q[CHAIN_N > 0 ? CHAIN_N : 1];
    int chain_pos[MAX_PROBES];
    // Per access: the oldest access in flight owns every chain strobe until it completes. Each cycle of
    // its lifetime goes to one bin: bin 0 before the first strobe, bin k+1 after chain boundary k, and
    // bin FW_BIN while firmware runs (cycles stepped outside run(): Python serving a fault or a miss).
    static constexpr int FW_BIN = CHAIN_N + 1;
    int head_bin = 0;
    bool head_missed = false;
    bool in_run = false;
    uint64_t head_bins[MAX_PROBES + 2];

#if HARNESS_TRACE_FST || HARNESS_TRACE_VCD
    std::unique_ptr<TraceFile> tfp;
    std::string trace_path;
    uint64_t win_start = 0, win_end = 0;
    bool trace_done = false;
#endif

#if HARNESS_AXI_MEM
    AxiMemory dram;
#endif
#if HARNESS_LMEM
    LocalMemory lmem;
#endif

    // Idle-cycle skipping: on unless switched off (h_set_idle_skip), never with waveforms.
    bool skip_on = true;
    bool skip_broken = false;       // a free-running register did not advance as expected
    bool skip_calibrated = false;
    std::vector<uint8_t> snap;      // the root before the checked cycle
    std::vector<std::pair<size_t, size_t>> skip_ranges;   // [begin, end) bytes of the root compared

    Harness() : ctx(new VerilatedContext) {
#if HARNESS_TRACE_FST || HARNESS_TRACE_VCD
        ctx->traceEverOn(true);
#endif
        top.reset(new Vtop(ctx.get(), "TOP"));
        std::memset(&st, 0, sizeof st);
        std::memset(req_words, 0, sizeof req_words);
        for (int i = 0; i < MAX_PROBES; i++) chain_pos[i] = -1;
        for (int i = 0; i < CHAIN_N; i++) chain_pos[CHAIN[i]] = i;
        top->clk = 0;
#if HARNESS_REGISTERED_INPUTS
        top->clk_in = 0;
        if constexpr (has_clk_csr<Vtop>) top->clk_csr = 0;
#endif
        top->rst = 0;
        top->P_cpu_req__valid = 0;
        top->P_cpu_resp__ready = 1;
        top->P_csr__r_stb = 0;
        top->P_csr__w_stb = 0;
#if HARNESS_AXI_MEM
        dram.drive(top.get());
#endif
#if HARNESS_LMEM
        lmem.drive(top.get());
#endif
        top->eval();
    }

    ~Harness() {
#if HARNESS_TRACE_FST || HARNESS_TRACE_VCD
        if (tfp) tfp->close();
#endif
        top->final();
    }

    // Dump the values at time ``t`` if the cycle period it falls in (``at``, default this cycle) is in the window.
    void trace_dump(uint64_t t, uint64_t at = ~0ull) {
        if (at == ~0ull) at = cycle;
#if HARNESS_TRACE_FST || HARNESS_TRACE_VCD
        if (trace_done || trace_path.empty()) return;
        if (at < win_start) return;
        if (at > win_end) {
            if (tfp) { tfp->close(); tfp.reset(); }
            trace_done = true;
            return;
        }
        if (!tfp) {
            tfp.reset(new TraceFile);
            top->trace(tfp.get(), 99);
            tfp->open(trace_path.c_str());
        }
        tfp->dump(t);
#else
        (void)t; (void)at;
#endif
    }

    void pack_request(const Access& a) {
        std::memset(req_words, 0, sizeof req_words);
        int lane = (int)(a.vaddr % DATA_BYTES);
        put_bits(req_words, REQ_OP_OFF, REQ_OP_W, a.op ? OP_WRITE : OP_READ);
        put_bits(req_words, REQ_PID_OFF, REQ_PID_W, a.pid);
        put_bits(req_words, REQ_VADDR_OFF, REQ_VADDR_W, a.vaddr);
        uint64_t strb = a.size >= 8 ? 0xffull : ((1ull << a.size) - 1ull);
        put_bits(req_words, REQ_STRB_OFF + lane, a.size, strb);
        if (a.op) put_bits(req_words, REQ_WDATA_OFF + lane * 8, a.size * 8, a.data);
        store_req(top.get(), req_words);
    }

    void on_probe(uint64_t probe) {
        for (int i = 0; probe && i < MAX_PROBES; i++, probe >>= 1) {
            if (!(probe & 1)) continue;
            st.probe_count[i]++;
            int k = chain_pos[i];
            if (k < 0) continue;
            if (!outstanding.empty()) {
                head_bin = k + 1;
                head_missed = true;
            }
            if (k > 0) {
                if (chain_q[k - 1].empty()) { st.chain_orphans++; continue; }
                uint64_t t0 = chain_q[k - 1].front();
                chain_q[k - 1].pop_front();
                st.stage_sum[i] += cycle - t0;
                st.stage_n[i]++;
            }
            if (k + 1 < CHAIN_N) chain_q[k].push_back(cycle);
        }
    }

    // A new oldest access; it has been waiting since it was issued (bin 0, cache lookup/queueing).
    void start_head(uint64_t issued) {
        head_bin = 0;
        head_missed = false;
        std::memset(head_bins, 0, sizeof head_bins);
        head_bins[0] = cycle - issued;
    }

    void end_head(Result& r) {
        uint64_t lat = r.t_done - r.t_issue;
        r.missed = head_missed;
        if (!head_missed) {
            st.hit_count++;
            st.hit_latency_sum += lat;
            return;
        }
        st.miss_count++;
        st.miss_latency_sum += lat;
        for (int i = 0; i <= FW_BIN; i++) st.miss_stage_sum[i] += head_bins[i];
    }

    // One clock cycle's evaluation, its outputs captured in `smp`.
    //
    // A top with registered inputs (HARNESS_REGISTERED_INPUTS, hw.system.top.HarnessTop): the inputs of this cycle
    // are on the ports; the rising edge of clk and clk_in advances the system into this cycle and loads them, and
    // Verilator settles the logic after it, so when eval() returns the outputs are this cycle's, final (they read
    // registers only). One eval() per cycle: the edges are seen because the clocks' previous values are set low
    // first (no logic of an Amaranth design reads a clock other than at its rising edge). At power-up clk_in rises
    // alone (the inputs of cycle 0 loaded, the system not advanced). With waveforms, or a Verilator without the
    // members below, the clocks also fall in each cycle (two eval() calls).
    //
    // A plain top (SystemTop, the reference of sim_tests/harness/test_speed_equivalence.py): settle at clk=0 with
    // the inputs of this cycle, sample the outputs, then the rising edge at clk=1 (two eval() calls).
    struct Sample {
        bool req_ready, resp_valid, irq_proc, irq_mem;
        uint32_t csr_rdata;
        uint64_t probe;
    };

#if HARNESS_REGISTERED_INPUTS
    bool inputs_loaded = false;   // clk_in has risen once (the power-up load of cycle 0's inputs)
    static constexpr bool fast_edge = can_force_edge<Vtop___024root> && can_force_edge_in<Vtop___024root>
                                      && (!has_clk_csr<Vtop> || can_force_edge_csr<Vtop___024root>)
                                      && !(HARNESS_TRACE_FST || HARNESS_TRACE_VCD);
    // The CSR inputs clk_csr last loaded (addr, r_stb, w_stb, w_data); clk_csr rises only when they change.
    uint64_t csr_loaded[4] = {~0ull, ~0ull, ~0ull, ~0ull};

    // Whether the CSR inputs on the ports differ from those last loaded (and remember them if so).
    bool csr_inputs_changed() {
        const uint64_t now[4] = {(uint64_t)top->P_csr__addr, (uint64_t)top->P_csr__r_stb, (uint64_t)top->P_csr__w_stb,
                                 (uint64_t)top->P_csr__w_data};
        if (std::memcmp(now, csr_loaded, sizeof now) == 0) return false;
        std::memcpy(csr_loaded, now, sizeof now);
        return true;
    }

    void edge(Sample& smp) {
        const bool rst_now = top->rst;
        const bool first = !inputs_loaded;
        inputs_loaded = true;
#if HARNESS_AXI_MEM
        dram.drive(top.get());   // awready as "idle": HarnessTop ANDs it with arvalid
#endif
#if HARNESS_LMEM
        lmem.drive(top.get());
#endif
        if constexpr (fast_edge) {
            if (!first) force_edge(top->rootp);
            force_edge_in(top->rootp);
            // clk_csr stays high between its edges (no edge seen): it rises when the CSR inputs change.
            if constexpr (has_clk_csr<Vtop>) {
                if (csr_inputs_changed()) force_edge_csr(top->rootp);
                top->clk_csr = 1;
            }
        } else if constexpr (has_clk_csr<Vtop>) {
            top->clk_csr = 1;   // with the falling edges below, clk_csr toggles with clk_in (loads every cycle)
        }
        top->clk = !first;
        top->clk_in = 1;
        // Vtop::eval_step's first call initialises the model. Later ones go to the root's eval directly (no
        // deleter, no end-of-eval mutexes), except in a model with waveforms: eval_step also marks the
        // trace's activity, without which a dump records nothing (the FST then lost most clock edges).
        if (first || !fast_edge) top->eval();
        else Vtop___024root___eval(top->rootp);
        if constexpr (!fast_edge) {
            // The plain top's timeline: the state of cycle c shown from time 10c (clk low), the edge into c + 1 at
            // 10c + 5, in cycle c's period.
            if (!first) trace_dump(cycle * 10 - 5, cycle - 1);
            top->clk = 0;
            top->clk_in = 0;
            if constexpr (has_clk_csr<Vtop>) top->clk_csr = 0;
            top->eval();
            trace_dump(cycle * 10);
        }
        smp.req_ready = top->P_cpu_req__ready;
        smp.resp_valid = top->P_cpu_resp__valid;
        smp.irq_proc = top->P_irq_proc;
        smp.irq_mem = top->P_irq_mem;
        smp.csr_rdata = top->P_csr__r_data;
        smp.probe = load_probe(top.get());
        if (smp.resp_valid) load_resp(top.get(), resp_words);
#if HARNESS_AXI_MEM
        dram.sample(top.get(), rst_now);
#endif
#if HARNESS_LMEM
        lmem.sample(top.get(), rst_now);
#endif
    }

    // The interrupt lines as the plain top shows them between two cycles: after the rising edge into the next
    // cycle, settled with the inputs of the last one. That edge is not taken yet (the next cycle's inputs are not
    // known), so it is taken on a copy: the root is saved, the edge evaluated with the ports as they are (the
    // last cycle's inputs), the lines read and the root restored byte for byte. Once per cycle at most.
    uint64_t irq_peek_cycle = ~0ull;
    uint32_t irq_peek = 0;
    std::vector<uint8_t> peek_snap;

    uint32_t irqs() {
        if (!inputs_loaded) return (top->P_irq_proc ? 1u : 0u) | (top->P_irq_mem ? 2u : 0u);   // power-up values
        if (irq_peek_cycle == cycle) return irq_peek;
        auto* r = top->rootp;
        const size_t size = sizeof(*r);
        peek_snap.resize(size);
        std::memcpy(peek_snap.data(), (const void*)r, size);
        force_edge(r);
        force_edge_in(r);
        top->clk = 1;
        top->clk_in = 1;
        top->eval();
        irq_peek = (top->P_irq_proc ? 1u : 0u) | (top->P_irq_mem ? 2u : 0u);
        std::memcpy((void*)r, peek_snap.data(), size);
        irq_peek_cycle = cycle;
        return irq_peek;
    }
#else
    void edge(Sample& smp) {
        const bool rst_now = top->rst;
#if HARNESS_AXI_MEM
        dram.drive(top.get());
#endif
#if HARNESS_LMEM
        lmem.drive(top.get());
#endif
        top->clk = 0;
        top->eval();
#if HARNESS_AXI_MEM
        if (dram.settle(top.get())) top->eval();
#endif
        trace_dump(cycle * 10);
        smp.req_ready = top->P_cpu_req__ready;
        smp.resp_valid = top->P_cpu_resp__valid;
        smp.irq_proc = top->P_irq_proc;
        smp.irq_mem = top->P_irq_mem;
        smp.csr_rdata = top->P_csr__r_data;
        smp.probe = load_probe(top.get());
        if (smp.resp_valid) load_resp(top.get(), resp_words);
#if HARNESS_AXI_MEM
        dram.sample(top.get(), rst_now);
#endif
#if HARNESS_LMEM
        lmem.sample(top.get(), rst_now);
#endif
        top->clk = 1;
        top->eval();
        trace_dump(cycle * 10 + 5);
    }

    // The interrupt lines after the last rising edge.
    uint32_t irqs() { return (top->P_irq_proc ? 1u : 0u) | (top->P_irq_mem ? 2u : 0u); }
#endif

    bool all_issued() const {
        for (const Thread& t : th)
            if (t.next < t.end) return false;
        return true;
    }

    // Whether the next cycle may start an idle skip: the CPU model thinks for at least two more cycles with
    // nothing in flight, no interrupt line is high, the links are empty and the DRAM has no transaction.
    template <class Root = Vtop___024root>
    bool skip_candidate() {
#if HARNESS_TRACE_FST || HARNESS_TRACE_VCD
        return false;
#else
        if constexpr (!has_free_running<Root>) return false;
        else {
            if (!skip_on || skip_broken || !in_run || req_valid || !outstanding.empty() || irq_proc || irq_mem)
                return false;
            if (!wl) return false;
            bool any = false;
            for (Thread& t : th) {   // every thread with work left thinks for two more cycles at least
                if (t.next >= t.end) continue;
                if (t.think_left < 0) t.think_left = wl[t.next].think;
                if (t.think_left < 2) return false;
                any = true;
            }
            if (!any) return false;
#if HARNESS_AXI_MEM
            if (!dram.idle()) return false;
#endif
#if HARNESS_LMEM
            if (!lmem.idle()) return false;
#endif
            return lanes_empty(static_cast<Root*>(top->rootp));
        }
#endif
    }

    // One thinking cycle, evaluated, and then, if it left the model's state unchanged but for the
    // free-running registers, the rest of the think time (at most up to cycle ``stop``) without evaluation.
    template <class Root = Vtop___024root>
    void skip_step(uint64_t stop) {
        if constexpr (has_free_running<Root>) {
            Root* r = top->rootp;
            const size_t size = sizeof(Root);
            snap.resize(size);
            std::memcpy(snap.data(), (const void*)r, size);
            FreeRunning v0 = get_free_running(r);
            step();
            st.idle_checks++;
            FreeRunning v1 = get_free_running(r);
            if (!(v1 == v0.after(1))) { skip_broken = true; return; }
            if (irq_proc || irq_mem || req_valid || !lanes_empty(r)) return;
            uint64_t n = ~0ull, thinking = 0;   // skip until the first thread is done thinking
            for (const Thread& t : th) {
                if (t.next >= t.end) continue;
                if (t.think_left <= 0) return;
                if ((uint64_t)t.think_left < n) n = (uint64_t)t.think_left;
                thinking++;
            }
            if (thinking == 0) return;
#if HARNESS_AXI_MEM
            if (!dram.idle()) return;
#endif
#if HARNESS_LMEM
            if (!lmem.idle()) return;
#endif
            if (!skip_calibrated) calibrate_skip(r, v1);
            const uint8_t* now = reinterpret_cast<const uint8_t*>(r);
            for (const auto& [b, e] : skip_ranges)
                if (std::memcmp(now + b, snap.data() + b, e - b) != 0) return;
            if (cycle + n > stop) n = stop > cycle ? stop - cycle : 0;
            if (n == 0) return;
            set_free_running(r, v1.after(n));
            Vtop___024root___eval_settle(r);
            for (Thread& t : th)
                if (t.next < t.end) t.think_left -= (int64_t)n;
            st.think_cycles += n * thinking;
            cycle += n;
            st.cycles = cycle;
            st.idle_skips++;
            st.idle_skipped_cycles += n;
        } else {
            (void)stop;
            step();
        }
    }

    // The bytes of the root that depend on the free-running registers in an idle state: those that change
    // when the registers are moved and the logic settled. Everything else is compared by skip_step. The
    // state is restored afterwards, byte for byte.
    template <class Root>
    void calibrate_skip(Root* r, const FreeRunning& v) {
        const size_t size = sizeof(Root);
        std::vector<uint8_t> keep(size), mask(size, 0);
        std::memcpy(keep.data(), (const void*)r, size);
        const uint8_t* cur = reinterpret_cast<const uint8_t*>(r);
        for (uint64_t k : {0ull, 1ull, 2ull, 977ull}) {
            set_free_running(r, v.after(k));
            Vtop___024root___eval_settle(r);
            for (size_t i = 0; i < size; i++) mask[i] |= cur[i] != keep[i];
            std::memcpy((void*)r, keep.data(), size);
        }
        skip_ranges.clear();
        for (size_t i = 0; i < size;) {
            while (i < size && mask[i]) i++;
            size_t b = i;
            while (i < size && !mask[i]) i++;
            if (i > b) skip_ranges.emplace_back(b, i);
        }
        st.idle_masked_bytes = 0;
        for (uint8_t m : mask) st.idle_masked_bytes += m;
        skip_calibrated = true;
    }

    bool quiet = false;   // the last step() saw no probe strobe, no response and no accepted request

    // One cycle of the DRAM's fill engine (h_dram_fill: firmware waits for it), evaluated, and then, if it left the
    // model's state unchanged but for the free-running registers (as in skip_step), the cycles up to the last one of
    // the fill without evaluation. With the same inputs (the DRAM filling: every ready and valid low; the local
    // memory idle; no CSR access; the CPU model's request, if any, stalled, and its other threads thinking or
    // blocked) every further cycle would change only those registers, the driver's per-cycle counters and the
    // fill's countdown, which are advanced by the number of cycles skipped. An interrupt line may be high (firmware
    // is serving it): at a fixed point it stays as it is. Returns the cycles advanced.
    template <class Root = Vtop___024root>
    uint64_t fill_step() {
#if HARNESS_TRACE_FST || HARNESS_TRACE_VCD || !HARNESS_AXI_MEM
        step();
        return 1;
#else
        if constexpr (!has_free_running<Root>) {
            step();
            return 1;
        } else {
            Root* r = top->rootp;
            if (!skip_on || skip_broken || !dram.fill_only() || !lanes_empty(r)) {
                step();
                return 1;
            }
#if HARNESS_LMEM
            if (!lmem.idle()) { step(); return 1; }
#endif
            const size_t size = sizeof(Root);
            snap.resize(size);
            std::memcpy(snap.data(), (const void*)r, size);
            FreeRunning v0 = get_free_running(r);
            step();
            st.idle_checks++;
            FreeRunning v1 = get_free_running(r);
            if (!(v1 == v0.after(1))) { skip_broken = true; return 1; }
            if (!quiet || csr_r || csr_w || !lanes_empty(r) || !dram.fill_only()) return 1;
#if HARNESS_LMEM
            if (!lmem.idle()) return 1;
#endif
            // Skip up to the fill's last cycle (evaluated: the DRAM's outputs change after it), and not beyond the
            // think time of a thread that may issue (it would put a request on the port).
            uint64_t n = dram.fill_left();
            if (n <= 1) return 1;
            n -= 1;
            uint64_t thinking = 0;
            if (wl) {
                for (size_t k = 0; k < th.size(); k++) {
                    const Thread& t = th[k];
                    if (t.next >= t.end || t.in_flight >= max_outstanding || (req_valid && req_thread == k)) continue;
                    if (t.think_left <= 0) {
                        if (!req_valid) return 1;   // done thinking, the port free: it issues next cycle
                        continue;                   // waits for the port: no change
                    }
                    if ((uint64_t)t.think_left < n) n = (uint64_t)t.think_left;
                    thinking++;
                }
            }
            if (!skip_calibrated) calibrate_skip(r, v1);
            const uint8_t* now = reinterpret_cast<const uint8_t*>(r);
            for (const auto& [b, e] : skip_ranges)
                if (std::memcmp(now + b, snap.data() + b, e - b) != 0) return 1;
            set_free_running(r, v1.after(n));
            Vtop___024root___eval_settle(r);
            if (wl) {
                for (size_t k = 0; k < th.size(); k++) {
                    Thread& t = th[k];
                    if (t.next >= t.end || t.in_flight >= max_outstanding || (req_valid && req_thread == k)) continue;
                    if (t.think_left > 0) t.think_left -= (int64_t)n;
                }
            }
            st.think_cycles += n * thinking;
            if (!outstanding.empty()) {
                st.busy_cycles += n;
                head_bins[in_run ? head_bin : FW_BIN] += n;
            }
            if (req_valid) st.req_stall_cycles += n;
            dram.advance_fill(n);
#if HARNESS_LMEM
            lmem.advance(n);
#endif
            cycle += n;
            st.cycles = cycle;
            st.idle_skips++;
            st.idle_skipped_cycles += n;
            return 1 + n;
        }
#endif
    }

    // One clock cycle: decide the inputs, settle, sample handshakes, rising edge.
    void step() {
        if (wl) {
            // Every thread that may issue thinks; of those done thinking (before this cycle), the first in
            // round-robin order puts its request on the port if the port is free.
            size_t n_th = th.size(), pick = n_th;
            for (size_t i = 0; i < n_th; i++) {
                size_t k = (rr_next + i) % n_th;
                Thread& t = th[k];
                if (t.next >= t.end || t.in_flight >= max_outstanding || (req_valid && req_thread == k)) continue;
                if (t.think_left < 0) t.think_left = wl[t.next].think;
                if (t.think_left > 0) {
                    t.think_left--;
                    st.think_cycles++;
                } else if (pick == n_th) {
                    pick = k;
                }
            }
            if (!req_valid && pick < n_th) {
                pack_request(wl[th[pick].next]);
                req_valid = true;
                req_thread = pick;
            }
        }
        top->P_cpu_req__valid = req_valid;
        top->P_csr__addr = csr_addr;
        top->P_csr__r_stb = csr_r;
        top->P_csr__w_stb = csr_w;
        top->P_csr__w_data = csr_wdata;
        Sample smp;
        const bool req_before = req_valid;
        edge(smp);
        quiet = !smp.probe && !smp.resp_valid && !(req_before && smp.req_ready);

        csr_rdata = smp.csr_rdata;
        bool ip = smp.irq_proc, im = smp.irq_mem;
        if ((ip && !irq_proc) || (im && !irq_mem)) irq_rose = true;
        irq_proc = ip;
        irq_mem = im;
        if (!outstanding.empty()) st.busy_cycles++;

        if (req_valid) {
            if (smp.req_ready) {
                Thread& t = th[req_thread];
                const uint64_t row = t.next;
                const Access& a = wl[row];
                res[row].t_issue = cycle;
                if (outstanding.empty()) start_head(cycle);
                outstanding.emplace_back(row, req_thread);
                t.in_flight++;
                t.next++;
                t.think_left = -1;
                rr_next = (req_thread + 1) % th.size();
                if (outstanding.size() > st.max_outstanding) st.max_outstanding = outstanding.size();
                if (a.op) st.writes++; else st.reads++;
                st.issued++;
                issue_idx++;
                req_valid = false;
            } else {
                st.req_stall_cycles++;
            }
        }
        if (smp.probe) on_probe(smp.probe);
        if (smp.resp_valid) {  // ready is always high: the CPU model never stalls responses
            if (outstanding.empty()) {
                st.unexpected_responses++;  // a response nobody asked for
            } else {
                auto [idx, thread] = outstanding.front();
                outstanding.pop_front();
                th[thread].in_flight--;
                const uint32_t* w = resp_words;
                const Access& a = wl[idx];
                int lane = (int)(a.vaddr % DATA_BYTES);
                Result& r = res[idx];
                r.rdata = a.op ? 0 : get_bits(w, RESP_RDATA_OFF + lane * 8, a.size * 8);
                r.status = (uint8_t)get_bits(w, RESP_STATUS_OFF, RESP_STATUS_W);
                r.done = 1;
                r.t_done = cycle;
                st.latency_sum += cycle - r.t_issue;
                st.completed++;
                end_head(r);
                if (!outstanding.empty()) start_head(res[outstanding.front().first].t_issue);
                last_progress = cycle;
            }
        }

        if (!outstanding.empty()) head_bins[in_run ? head_bin : FW_BIN]++;

        cycle++;
        st.cycles = cycle;
        csr_r = csr_w = false;
    }
};

}  // namespace

EXPORT void* h_create(const char* trace_path, uint64_t win_start, uint64_t win_end) {
    Harness* h = new Harness;
#if HARNESS_TRACE_FST || HARNESS_TRACE_VCD
    if (trace_path && *trace_path) {
        h->trace_path = trace_path;
        h->win_start = win_start;
        h->win_end = win_end;
    }
#else
    (void)trace_path; (void)win_start; (void)win_end;
#endif
    return h;
}

EXPORT void h_destroy(void* p) { delete static_cast<Harness*>(p); }

EXPORT int h_traced() {
#if HARNESS_TRACE_FST
    return 2;
#elif HARNESS_TRACE_VCD
    return 1;
#else
    return 0;
#endif
}

// Hardware threads for the next workload: thread k issues rows [bounds[k], bounds[k+1]) (count + 1 bounds,
// non-decreasing, from 0). count 0: one thread, as without this call. Only with nothing in flight.
EXPORT int h_threads(void* p, uint64_t count, const uint64_t* bounds) {
    Harness* h = static_cast<Harness*>(p);
    if (!h->outstanding.empty() || h->req_valid) return -1;
    h->thread_bounds.clear();
    if (count == 0) return 0;
    if (bounds[0] != 0) return -2;
    for (uint64_t k = 0; k < count; k++)
        if (bounds[k + 1] < bounds[k]) return -2;
    h->thread_bounds.assign(bounds, bounds + count + 1);
    h->wl = nullptr;   // the next run() starts a new workload
    return 0;
}

// Idle-cycle skipping on (1, the default) or off (0). Always off in a model built with waveforms.
EXPORT void h_set_idle_skip(void* p, int on) { static_cast<Harness*>(p)->skip_on = on != 0; }

// 1 if this model can skip idle cycles (its free-running registers were found; see driver.cpp).
EXPORT int h_idle_skip_supported() {
#if HARNESS_TRACE_FST || HARNESS_TRACE_VCD
    return 0;
#else
    return has_free_running<Vtop___024root> ? 1 : 0;
#endif
}

EXPORT void h_configure(void* p, uint64_t max_outstanding, uint64_t hang_cycles) {
    Harness* h = static_cast<Harness*>(p);
    h->max_outstanding = max_outstanding ? max_outstanding : 1;
    h->hang_cycles = hang_cycles;
}

// Hold the design in reset for ``cycles`` cycles (rst high for them; with registered inputs, hw.system.top.HarnessTop,
// rst is loaded at the edge that starts its cycle, so the reset covers the same cycles as with a plain rst input).
EXPORT void h_reset(void* p, uint32_t cycles) {
    Harness* h = static_cast<Harness*>(p);
    for (uint32_t i = 0; i < cycles; i++) {
        h->top->rst = 1;
        h->step();
    }
    h->top->rst = 0;
    h->outstanding.clear();
    h->req_valid = false;
    h->wl = nullptr;
    h->issue_idx = h->n_end = 0;
    h->th.assign(1, Harness::Thread{});
    h->thread_bounds.clear();
    for (auto& q : h->chain_q) q.clear();
    h->irq_rose = false;
}

EXPORT void h_step(void* p, uint64_t cycles) {
    Harness* h = static_cast<Harness*>(p);
    for (uint64_t i = 0; i < cycles; i++) h->step();
}

EXPORT uint32_t h_csr_read(void* p, uint32_t addr) {
    Harness* h = static_cast<Harness*>(p);
    h->csr_addr = addr;
    h->csr_r = true;
    h->step();      // r_stb sampled at this edge
    h->step();      // r_data is valid during this cycle (captured at its settle)
    h->st.csr_reads++;
    return h->csr_rdata;
}

// Firmware's poll loop (firmware.bus.Bus.wait_while) in compiled code: h_csr_read repeated while
// (value & mask) == value_eq, at most max_polls times; the same reads, cycles and counters as the loop in
// Python. Returns the last value read; *polls the number of reads.
EXPORT uint32_t h_csr_poll(void* p, uint32_t addr, uint32_t mask, uint32_t value_eq, uint32_t max_polls,
                           uint32_t* polls) {
    uint32_t v = 0, n = 0;
    while (n < max_polls) {
        v = h_csr_read(p, addr);
        n++;
        if ((v & mask) != value_eq) break;
    }
    *polls = n;
    return v;
}

EXPORT void h_csr_write(void* p, uint32_t addr, uint32_t data) {
    Harness* h = static_cast<Harness*>(p);
    h->csr_addr = addr;
    h->csr_wdata = data;
    h->csr_w = true;
    h->step();
    h->st.csr_writes++;
}

EXPORT uint32_t h_irqs(void* p) {
    return static_cast<Harness*>(p)->irqs();  // as after the rising edge into the next cycle
}

EXPORT uint64_t h_position(void* p) { return static_cast<Harness*>(p)->issue_idx; }

EXPORT uint64_t h_cycle(void* p) { return static_cast<Harness*>(p)->cycle; }

EXPORT void h_stats(void* p, Stats* out) { std::memcpy(out, &static_cast<Harness*>(p)->st, sizeof(Stats)); }

// Run accesses [start, n) of the workload; return a RunStatus. ``start`` is where issuing resumes; it
// must equal the number of accesses already issued from this workload (or 0 for a new one). Results land
// in results[i] for access i. Returns after at most max_cycles cycles.
EXPORT int h_run(void* p, const Access* wl, uint64_t n, uint64_t start, uint64_t max_cycles,
                 Result* results, Stats* stats_out) {
    Harness* h = static_cast<Harness*>(p);
    const bool threads = !h->thread_bounds.empty();
    if (wl != h->wl || start != h->issue_idx) {
        // A new workload (or a restart): only allowed with nothing in flight.
        if (!h->outstanding.empty() || h->req_valid) return -1;
        h->wl = wl;
        h->issue_idx = start;
        h->rr_next = 0;
        if (threads) {
            // The thread streams cover the whole workload; it is run in one go, from its start.
            if (start != 0 || n != h->thread_bounds.back()) return -2;
            h->th.assign(h->thread_bounds.size() - 1, Harness::Thread{});
            for (size_t k = 0; k + 1 < h->thread_bounds.size(); k++) {
                h->th[k].next = h->thread_bounds[k];
                h->th[k].end = h->thread_bounds[k + 1];
            }
        } else {
            h->th.assign(1, Harness::Thread{});
            h->th[0].next = start;
        }
    }
    if (threads && n != h->thread_bounds.back()) return -2;
    if (!threads) h->th[0].end = n;
    h->res = results;
    h->n_end = n;
    h->last_progress = h->cycle;
    uint64_t stop = h->cycle + max_cycles;
    int status;
    h->in_run = true;
    for (;;) {
        if (h->all_issued() && h->outstanding.empty() && !h->req_valid) { status = RUN_DONE; break; }
        if (h->cycle >= stop) { status = RUN_BATCH; break; }
        if (!h->outstanding.empty() && h->cycle - h->last_progress > h->hang_cycles) { status = RUN_HANG; break; }
        if (h->skip_candidate()) h->skip_step(stop);
        else h->step();
        bool irq = h->irq_proc || h->irq_mem;
        if (h->irq_rose || (irq && h->cycle - h->irq_returned_at >= IRQ_RECHECK_CYCLES)) {
            h->irq_rose = false;
            if (irq) {
                h->irq_returned_at = h->cycle;
                if (h->irq_proc) h->st.irq_proc_events++;
                if (h->irq_mem) h->st.irq_mem_events++;
                status = RUN_IRQ;
                break;
            }
        }
    }
    h->in_run = false;
    if (stats_out) std::memcpy(stats_out, &h->st, sizeof(Stats));
    return status;
}

// The compiled DRAM (axi_memory.h): present only in a model of a top with the DRAM port.
EXPORT int h_dram_present() { return HARNESS_AXI_MEM; }

EXPORT void h_dram_config(void* p, uint64_t size_bytes, uint32_t latency, uint32_t read_slots) {
#if HARNESS_AXI_MEM
    static_cast<Harness*>(p)->dram.configure(size_bytes, latency, read_slots);
#else
    (void)p; (void)size_bytes; (void)latency; (void)read_slots;
#endif
}

// Eight counters: read bursts, write bursts, read beats, write beats, pages allocated, bytes allocated, fills
// and bytes filled by the fill engine.
EXPORT void h_dram_stats(void* p, uint64_t* out) {
#if HARNESS_AXI_MEM
    const AxiMemory& d = static_cast<Harness*>(p)->dram;
    AxiMemoryStats s = d.stats();
    static_assert(sizeof s == 6 * sizeof(uint64_t));
    std::memcpy(out, &s, sizeof s);
    out[6] = d.fills();
    out[7] = d.fill_bytes();
#else
    (void)p;
    std::memset(out, 0, 8 * sizeof(uint64_t));
#endif
}

// The compiled DRAM's fill engine (axi_memory.h, AxiMemory::fill): ``length`` bytes of the 8-byte ``value`` at
// ``addr`` at ``bytes_per_cycle``, the clock running until it is done (firmware waits for its memset). Returns
// the cycles stepped, or ~0 if there is no compiled DRAM or the request is refused (misaligned, engine busy).
EXPORT uint64_t h_dram_fill(void* p, uint64_t addr, uint64_t length, uint64_t value, uint32_t bytes_per_cycle) {
#if HARNESS_AXI_MEM
    Harness* h = static_cast<Harness*>(p);
    if ((addr | length) & 7 || !h->dram.fill(addr, length, value, bytes_per_cycle)) return ~0ull;
    uint64_t n = 0;
    while (h->dram.busy()) n += h->fill_step();
    return n;
#else
    (void)p; (void)addr; (void)length; (void)value; (void)bytes_per_cycle;
    return ~0ull;
#endif
}

// The ExCache's local memory (local_memory.h): present only in a model of a top with the lmem port.
EXPORT int h_lmem_present() { return HARNESS_LMEM; }

EXPORT void h_lmem_config(void* p, uint32_t latency) {
#if HARNESS_LMEM
    static_cast<Harness*>(p)->lmem.configure(latency);
#else
    (void)p; (void)latency;
#endif
}

// Six counters: read bursts, write bursts, read beats, write beats, pages allocated, bytes allocated.
EXPORT void h_lmem_stats(void* p, uint64_t* out) {
#if HARNESS_LMEM
    LocalMemoryStats s = static_cast<Harness*>(p)->lmem.stats();
    std::memcpy(out, &s, sizeof s);
#else
    (void)p;
    std::memset(out, 0, 6 * sizeof(uint64_t));
#endif
}
