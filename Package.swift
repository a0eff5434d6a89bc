// swift-tools-version: 6.0
import PackageDescription

// Target graph (docs/architecture.md):
//   swrun -> SwrunCLI -> SwrunCore -> { OCISpec, SwrunSys -> { CSwrun, CLibcap, CLibseccomp } }
// Only SwrunSys imports Glibc and the C modules; SwrunCore and OCISpec never do.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // The runtime uses neither Regex nor async: leaving their modules out keeps their code
    // and conformance records out of the static binary.
    // Concrete generic type metadata through direct accessor calls, not by demangling a
    // mangled name at first use: 13% fewer instructions for a `run` (docs/performance.md).
    .unsafeFlags(["-Xfrontend", "-disable-implicit-string-processing-module-import", "-Xfrontend", "-disable-implicit-concurrency-module-import", "-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"]),
]

let package = Package(
    name: "swrun",
    products: [
        .executable(name: "swrun", targets: ["swrun"]),
        .library(name: "SwrunCore", targets: ["SwrunCore"]),
        .library(name: "OCISpec", targets: ["OCISpec"]),
        .library(name: "OCISpecCodable", targets: ["OCISpecCodable"]),
    ],
    targets: [
        .systemLibrary(name: "CLibseccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CLibcap", pkgConfig: "libcap", providers: [.apt(["libcap-dev"])]),
        .target(name: "CSwrun", dependencies: ["CLibseccomp"]),
        .target(name: "SwrunSys", dependencies: ["CSwrun", "CLibcap", "CLibseccomp"], swiftSettings: strict),
        .target(name: "OCISpec", swiftSettings: strict),
        // The Codable decoder (FoundationEssentials' JSONDecoder): tests and tools only, so
        // the runtime binary carries no Foundation.
        .target(name: "OCISpecCodable", dependencies: ["OCISpec"], swiftSettings: strict),
        .target(name: "SwrunCore", dependencies: ["OCISpec", "SwrunSys"], swiftSettings: strict),
        .target(name: "SwrunCLI", dependencies: ["SwrunCore", "OCISpec"], swiftSettings: strict),
        .executableTarget(name: "swrun", dependencies: ["SwrunCLI"], swiftSettings: strict),
        // The in-container conformance checker (docs/conformance.md): a test oracle that
        // shares only the spec model with the runtime, built static beside it.
        .executableTarget(name: "swrun-conformance", dependencies: ["OCISpec"], path: "Tests/Conformance", swiftSettings: [.enableUpcomingFeature("ExistentialAny")]),
        .testTarget(name: "OCISpecTests", dependencies: ["OCISpec", "OCISpecCodable"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SwrunCoreTests", dependencies: ["SwrunCore", "SwrunCLI", "OCISpec", "OCISpecCodable"]),
        .testTarget(name: "IntegrationTests", dependencies: []),
    ]
)
