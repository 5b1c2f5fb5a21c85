import Foundation
import LinuxMM
import PopulateBench

/// Which accelerator `bench qemu` boots with. KVM only where a stock kernel really boots under
/// it: on hosts whose /dev/kvm is a paravirtual KVM, QEMU aborts or the guest never prints.
public enum QEMUAccelerator {
    /// `kvm` when /dev/kvm opens and the guest says `@@@ READY` under it within `timeout`
    /// seconds, else `tcg`; with the reason either way.
    public static func probe(program: QEMUProgram, guest: GuestImage, timeout: Double = 10) -> (String, String) {
        guard let kvm = try? FileDescriptor.open(path: "/dev/kvm", .readWrite) else {
            return ("tcg", "no usable /dev/kvm")
        }
        try? kvm.close()
        var spec = QEMUMachineSpec(qemuPath: program.binary.path, accelerator: "kvm", backend: .anonPrivate,
                                   size: 128 << 20, memory: .virtioMem(requested: 0), guest: guest)
        spec.dataDirectories = program.binary.build.dataDirectories
        guard let machine = try? QEMUMachine(spec: spec) else { return ("tcg", "QEMU could not start with KVM") }
        defer { machine.shutDown() }
        let deadline = MonotonicClock.now() + timeout
        while MonotonicClock.now() < deadline {
            if machine.console.contains(GuestImage.readyMarker) { return ("kvm", "the guest boots under /dev/kvm") }
            if machine.exit != nil { return ("tcg", "KVM: \(machine.exitReason)") }
            MonotonicClock.sleep(seconds: 0.1)
        }
        return ("tcg", "the guest did not boot under /dev/kvm within \(Int(timeout)) s")
    }
}
