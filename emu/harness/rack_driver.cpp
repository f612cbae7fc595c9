// The compiled rack's C++ driver: one CPU model per processor component feeding its cpu_req port and
// collecting cpu_resp, one compiled sparse DRAM (axi_memory.h) per memory component on its dram port, and the
// rack's one CSR bus for firmware. Compiled with the Verilated RackTop into a shared library and called from
// Python through ctypes (emu/harness/rack_model.py); docs/rack.md, "The rack in the fast harness".
//
// Python is entered only when run() returns: every processor component's accesses done, an interrupt line
// (irq_proc, irq_mem or irq_net) high after a rising edge (firmware must run), a batch of cycles elapsed, or
// the rack hung. The timing of the CPU ports and of the CSR bus is that of the cocotb rack bench
// (emu/cosim/rack_bench.py, csr_bus.py, streams.py): requests back to back while the port is ready,
// responses always taken, a register read two cycles and a write one, interrupts looked at after each edge.
//
// Port layouts come from the generated rack_ports.h (emu/harness/rack_codegen.py).

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>

#include "verilated.h"
#include "Vtop.h"
#include "rack_ports.h"
#include "harness_records.h"
// The single system's compiled DRAM, once per memory component: its port names are the members of an
// AxiPins record (the rack's harness_ports.h), copied to and from the model's dram__<j>__* ports each cycle.
#define Vtop AxiPins
#include "axi_memory.h"
#undef Vtop

#define EXPORT extern "C" __attribute__((visibility("default")))

double sc_time_stamp() { return 0; }

namespace {

enum RunStatus { RUN_DONE = 0, RUN_IRQ = 1, RUN_BATCH = 2, RUN_HANG = 3 };

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

// Counters of one CPU model (h_stats: CPU_STATS words each, in this order).
struct CpuStats {
    uint64_t issued, completed, reads, writes, latency_sum, req_stall_cycles, think_cycles, busy_cycles,
        max_outstanding, unexpected_responses;
};
constexpr int CPU_STATS = sizeof(CpuStats) / sizeof(uint64_t);

// One processor component's CPU: rows [next, n) of its workload, in order, each after its think time; at most
// max_outstanding in flight (0: as many as the port takes).
struct Cpu {
    const Access* wl = nullptr;
    Result* res = nullptr;
    uint64_t n = 0, next = 0;
    int64_t think_left = -1;       // -1: think time of row `next` not loaded yet
    bool req_valid = false;
    uint32_t req_words[REQ_WORDS];
    uint32_t resp_words[RESP_WORDS];
    std::deque<uint64_t> outstanding;
    uint64_t last_progress = 0;
    CpuStats st{};

    bool done() const { return next >= n && outstanding.empty() && !req_valid; }
};

struct Rack {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vtop> top;
    Cpu cpu[N_PROC];
    AxiMemory dram[N_MEM];
    AxiPins pins[N_MEM];
    uint64_t cycle = 0;
    uint64_t max_outstanding = 0, hang_cycles = 1000000;
    bool honour_think = true;
    // CSR bus inputs of the next cycle, and r_data as seen in the last cycle.
    uint32_t csr_addr = 0, csr_wdata = 0, csr_rdata = 0;
    bool csr_r = false, csr_w = false;
    uint64_t csr_reads = 0, csr_writes = 0, irq_returns = 0;
    // irq_proc, irq_mem, irq_net after the last rising edge, and after the one before it: the cocotb bench's irq
    // server, resumed by an edge, reads the lines as they were before that edge, so firmware serves a line from
    // the second edge after it rose (both benches: from the edge after the one whose value it acts on).
    uint64_t irq[3] = {0, 0, 0}, irq_seen[3] = {0, 0, 0};

    Rack() : ctx(new VerilatedContext) {
        top.reset(new Vtop(ctx.get(), "TOP"));
        top->clk = 0;
        top->rst = 0;
        for (int i = 0; i < N_PROC; i++) {
            set_req_valid(top.get(), i, false);
            set_resp_ready(top.get(), i, true);
            std::memset(cpu[i].req_words, 0, sizeof cpu[i].req_words);
        }
        top->P_csr_r_stb = 0;
        top->P_csr_w_stb = 0;
        for (int j = 0; j < N_MEM; j++) {
            dram[j].drive(&pins[j]);
            pins_to_model(top.get(), j, pins[j]);
        }
        top->eval();
    }

    ~Rack() { top->final(); }

    void pack_request(Cpu& c, const Access& a) {
        std::memset(c.req_words, 0, sizeof c.req_words);
        int lane = (int)(a.vaddr % DATA_BYTES);
        put_bits(c.req_words, REQ_OP_OFF, REQ_OP_W, a.op ? OP_WRITE : OP_READ);
        put_bits(c.req_words, REQ_PID_OFF, REQ_PID_W, a.pid);
        put_bits(c.req_words, REQ_VADDR_OFF, REQ_VADDR_W, a.vaddr);
        if (a.op) {   // reads carry no strobes (as the cocotb bench's requests)
            uint64_t strb = a.size >= 8 ? 0xffull : ((1ull << a.size) - 1ull);
            put_bits(c.req_words, REQ_STRB_OFF + lane, a.size, strb);
            put_bits(c.req_words, REQ_WDATA_OFF + lane * 8, a.size * 8, a.data);
        }
    }

    // One clock cycle: decide the inputs, settle at clk=0, sample the handshakes, rising edge.
    void step() {
        Vtop* t = top.get();
        for (int i = 0; i < N_PROC; i++) {
            Cpu& c = cpu[i];
            if (!c.req_valid && c.wl && c.next < c.n && (max_outstanding == 0 || c.outstanding.size() < max_outstanding)) {
                if (c.think_left < 0) c.think_left = honour_think ? c.wl[c.next].think : 0;
                if (c.think_left > 0) {
                    c.think_left--;
                    c.st.think_cycles++;
                } else {
                    pack_request(c, c.wl[c.next]);
                    store_req(t, i, c.req_words);
                    c.req_valid = true;
                }
            }
            set_req_valid(t, i, c.req_valid);
        }
        t->P_csr_addr = csr_addr;
        t->P_csr_r_stb = csr_r;
        t->P_csr_w_stb = csr_w;
        t->P_csr_w_data = csr_wdata;
        for (int j = 0; j < N_MEM; j++) {
            dram[j].drive(&pins[j]);
            pins_to_model(t, j, pins[j]);
        }
        const bool rst_now = t->rst;
        t->clk = 0;
        t->eval();
        bool again = false;
        for (int j = 0; j < N_MEM; j++) {
            pins_from_model(t, j, pins[j]);
            if (dram[j].settle(&pins[j])) {   // awready follows arvalid in the idle state (reads win)
                pins_to_model(t, j, pins[j]);
                again = true;
            }
        }
        if (again) {
            t->eval();
            for (int j = 0; j < N_MEM; j++) pins_from_model(t, j, pins[j]);
        }
        const uint64_t ready = req_ready_bits(t), valid = resp_valid_bits(t);
        csr_rdata = t->P_csr_r_data;
        for (int i = 0; i < N_PROC; i++)
            if (valid >> i & 1) load_resp(t, i, cpu[i].resp_words);
        for (int j = 0; j < N_MEM; j++) dram[j].sample(&pins[j], rst_now);
        t->clk = 1;
        t->eval();
        for (int k = 0; k < 3; k++) {
            irq_seen[k] = irq[k];
            irq[k] = irq_bits(t, k);
        }

        for (int i = 0; i < N_PROC; i++) {
            Cpu& c = cpu[i];
            if (!c.outstanding.empty()) c.st.busy_cycles++;
            if (c.req_valid) {
                if (ready >> i & 1) {
                    const uint64_t row = c.next;
                    c.res[row].t_issue = cycle;
                    if (c.outstanding.empty()) c.last_progress = cycle;   // the hang limit counts from here
                    c.outstanding.push_back(row);
                    if (c.outstanding.size() > c.st.max_outstanding) c.st.max_outstanding = c.outstanding.size();
                    if (c.wl[row].op) c.st.writes++; else c.st.reads++;
                    c.st.issued++;
                    c.next++;
                    c.think_left = -1;
                    c.req_valid = false;
                } else {
                    c.st.req_stall_cycles++;
                }
            }
            if (valid >> i & 1) {
                if (c.outstanding.empty()) { c.st.unexpected_responses++; continue; }
                const uint64_t row = c.outstanding.front();
                c.outstanding.pop_front();
                const Access& a = c.wl[row];
                int lane = (int)(a.vaddr % DATA_BYTES);
                Result& r = c.res[row];
                r.rdata = a.op ? 0 : get_bits(c.resp_words, RESP_RDATA_OFF + lane * 8, a.size * 8);
                r.status = (uint8_t)get_bits(c.resp_words, RESP_STATUS_OFF, RESP_STATUS_W);
                r.done = 1;
                r.t_done = cycle;
                c.st.latency_sum += cycle - r.t_issue;
                c.st.completed++;
                c.last_progress = cycle;
            }
        }
        cycle++;
        csr_r = csr_w = false;
    }

    bool all_done() const {
        for (const Cpu& c : cpu)
            if (!c.done()) return false;
        return true;
    }
};

}  // namespace

EXPORT void* r_create() { return new Rack; }

EXPORT void r_destroy(void* p) { delete static_cast<Rack*>(p); }

EXPORT int r_processors() { return N_PROC; }

EXPORT int r_memories() { return N_MEM; }

EXPORT void r_configure(void* p, uint64_t max_outstanding, uint64_t hang_cycles, int honour_think) {
    Rack* r = static_cast<Rack*>(p);
    r->max_outstanding = max_outstanding;
    r->hang_cycles = hang_cycles;
    r->honour_think = honour_think != 0;
}

EXPORT void r_dram_config(void* p, uint64_t size_bytes, uint32_t latency) {
    Rack* r = static_cast<Rack*>(p);
    for (auto& d : r->dram) d.configure(size_bytes, latency);
}

// Six counters of memory component j's DRAM: read bursts, write bursts, read beats, write beats, pages, bytes.
EXPORT void r_dram_stats(void* p, int j, uint64_t* out) {
    AxiMemoryStats s = static_cast<Rack*>(p)->dram[j].stats();
    std::memcpy(out, &s, sizeof s);
}

// Hold the rack in reset for `cycles` cycles (rst is the design's reset directly).
EXPORT void r_reset(void* p, uint32_t cycles) {
    Rack* r = static_cast<Rack*>(p);
    for (uint32_t i = 0; i < cycles; i++) {
        r->top->rst = 1;
        r->step();
    }
    r->top->rst = 0;
}

EXPORT void r_step(void* p, uint64_t cycles) {
    Rack* r = static_cast<Rack*>(p);
    for (uint64_t i = 0; i < cycles; i++) r->step();
}

EXPORT uint32_t r_csr_read(void* p, uint32_t addr) {
    Rack* r = static_cast<Rack*>(p);
    r->csr_addr = addr;
    r->csr_r = true;
    r->step();      // r_stb sampled at this edge
    r->step();      // r_data is valid during this cycle
    r->csr_reads++;
    return r->csr_rdata;
}

// firmware.bus.Bus.wait_while in compiled code: r_csr_read while (value & mask) == value_eq, at most max_polls.
EXPORT uint32_t r_csr_poll(void* p, uint32_t addr, uint32_t mask, uint32_t value_eq, uint32_t max_polls,
                           uint32_t* polls) {
    uint32_t v = 0, n = 0;
    while (n < max_polls) {
        v = r_csr_read(p, addr);
        n++;
        if ((v & mask) != value_eq) break;
    }
    *polls = n;
    return v;
}

EXPORT void r_csr_write(void* p, uint32_t addr, uint32_t data) {
    Rack* r = static_cast<Rack*>(p);
    r->csr_addr = addr;
    r->csr_wdata = data;
    r->csr_w = true;
    r->step();
    r->csr_writes++;
}

// irq_proc, irq_mem, irq_net as the firmware sees them after the last rising edge: their values after the
// edge before it (see Rack::irq_seen).
EXPORT void r_irqs(void* p, uint64_t* out) {
    Rack* r = static_cast<Rack*>(p);
    for (int k = 0; k < 3; k++) out[k] = r->irq_seen[k];
}

EXPORT uint64_t r_cycle(void* p) { return static_cast<Rack*>(p)->cycle; }

// Processor component i issues rows [0, n) of `wl` (results into `res`); only with nothing of it in flight.
EXPORT int r_set_workload(void* p, int i, const Access* wl, uint64_t n, Result* res) {
    Rack* r = static_cast<Rack*>(p);
    if (i < 0 || i >= N_PROC) return -2;
    Cpu& c = r->cpu[i];
    if (!c.outstanding.empty() || c.req_valid) return -1;
    c.wl = wl;
    c.res = res;
    c.n = n;
    c.next = 0;
    c.think_left = -1;
    c.last_progress = r->cycle;
    return 0;
}

// Accesses issued so far from processor component i's workload.
EXPORT uint64_t r_position(void* p, int i) { return static_cast<Rack*>(p)->cpu[i].next; }

// 4 words (cycles, csr reads, csr writes, irq returns), then CPU_STATS words per processor component.
EXPORT int r_stats_words() { return 4 + CPU_STATS * N_PROC; }

EXPORT void r_stats(void* p, uint64_t* out) {
    Rack* r = static_cast<Rack*>(p);
    out[0] = r->cycle;
    out[1] = r->csr_reads;
    out[2] = r->csr_writes;
    out[3] = r->irq_returns;
    for (int i = 0; i < N_PROC; i++) std::memcpy(out + 4 + CPU_STATS * i, &r->cpu[i].st, sizeof(CpuStats));
}

// Run until every processor component's workload is done (RUN_DONE), an interrupt line is high after an edge
// (RUN_IRQ), max_cycles passed (RUN_BATCH) or a component with accesses in flight got no response for the hang
// limit (RUN_HANG). An interrupt line that stays high returns again after the next cycle, as the cocotb bench's
// irq server looks at the lines after every edge.
EXPORT int r_run(void* p, uint64_t max_cycles) {
    Rack* r = static_cast<Rack*>(p);
    const uint64_t stop = r->cycle + max_cycles;
    for (;;) {
        if (r->all_done()) return RUN_DONE;
        if (r->cycle >= stop) return RUN_BATCH;
        for (const Cpu& c : r->cpu)
            if (!c.outstanding.empty() && r->cycle - c.last_progress > r->hang_cycles) return RUN_HANG;
        r->step();
        if (r->irq_seen[0] | r->irq_seen[1] | r->irq_seen[2]) {
            r->irq_returns++;
            return RUN_IRQ;
        }
    }
}
