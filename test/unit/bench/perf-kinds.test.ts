import { describe, expect, it } from "vitest";
import { KINDS, kindOf, percentByKind, usPerRequestByKind } from "../../../scripts/bench/analysis/perf-kinds.mjs";

describe("perf symbols by kind of code", () => {
  it("sorts workerd's symbols as perf prints them", () => {
    expect(kindOf("[k] recently_deleted")).toBe("kernel");
    expect(kindOf("[.] 0x00007f1c2a3b4c5d")).toBe("jit");
    expect(kindOf("[.] v8::internal::Scavenger::ScavengePage")).toBe("gc");
    expect(kindOf("[.] v8::internal::Heap::CanExpandOldGeneration")).toBe("gc");
    expect(kindOf("[.] v8::internal::GlobalHandles::Create")).toBe("v8 runtime");
    expect(kindOf("[.] Builtins_KeyedLoadIC")).toBe("v8 builtins");
    expect(kindOf("[.] tcmalloc::tcmalloc_internal::FreeSmallSlow")).toBe("malloc");
    expect(kindOf("[.] workerd::api::(anonymous namespace)::getHeaderKeyFor")).toBe("headers");
    expect(kindOf("[.] kj::_::HeapDisposer<workerd::api::Headers::Header>::disposeImpl")).toBe("headers");
    expect(kindOf("[.] workerd::jsg::HeapTracer::ResetRoot")).toBe("bindings (jsg)");
    expect(kindOf("[.] workerd::IoContext::now")).toBe("workerd api");
    expect(kindOf("[.] kj::_::Event::armDepthFirst")).toBe("kj");
    expect(kindOf("[.] sqlite3VdbeExec")).toBe("sqlite");
    expect(kindOf("[.] __memmove_avx_unaligned_erms")).toBe("other");
  });

  it("sums a report's sample lines by kind and skips everything else", () => {
    const report = [
      "# Samples: 2K of event 'cpu-clock:ppp'",
      "#",
      "    40.00%  [.] v8::internal::GlobalHandles::Create",
      "            |",
      "            ---0x7f1c",
      "    25.50%  [.] kj::_::Event::armDepthFirst",
      "    10.00%  [k] find_get_block_common",
      "     4.50%  [.] Builtins_CallFunction_ReceiverIsNullOrUndefined",
      "",
    ].join("\n");
    const percent = percentByKind(report);
    expect(percent["v8 runtime"]).toBeCloseTo(40, 9);
    expect(percent.kj).toBeCloseTo(25.5, 9);
    expect(percent.kernel).toBeCloseTo(10, 9);
    expect(percent["v8 builtins"]).toBeCloseTo(4.5, 9);
    expect(KINDS.reduce((t, k) => t + percent[k], 0)).toBeCloseTo(80, 9);
  });

  it("shares the CPU per request out by the kinds' shares of the samples counted", () => {
    const percent = percentByKind("  60.00%  [.] v8::a\n  20.00%  [.] kj::b\n");
    const us = usPerRequestByKind(percent, 1000);
    expect(us["v8 runtime"]).toBeCloseTo(750, 9);
    expect(us.kj).toBeCloseTo(250, 9);
    expect(KINDS.reduce((t, k) => t + us[k], 0)).toBeCloseTo(1000, 9);
    // No samples: nothing to share out, rather than NaN.
    expect(usPerRequestByKind(percentByKind(""), 1000).kj).toBe(0);
  });
});
