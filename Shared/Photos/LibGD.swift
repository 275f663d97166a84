import CGD
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// libgd's functions, looked up when the first photo is processed (`dlopen`), not when the
/// process starts: libgd brings a dozen image codecs (HEIF, AV1, x265, WebP, TIFF …) that a
/// service would otherwise map and relocate at start, ≈ 4 MB of every idle intake's resident
/// memory, for photos it may never see. A machine without libgd (`libgd3`) is told so by the
/// first photo's refusal (and intake's log), not by a process that cannot start.
struct LibGD: @unchecked Sendable {
    let createFromJpegPtrEx: @convention(c) (Int32, UnsafeMutableRawPointer?, Int32) -> gdImagePtr?
    let createFromPngPtr: @convention(c) (Int32, UnsafeMutableRawPointer?) -> gdImagePtr?
    let destroy: @convention(c) (gdImagePtr?) -> Void
    let createTrueColor: @convention(c) (Int32, Int32) -> gdImagePtr?
    let filledRectangle: @convention(c) (gdImagePtr?, Int32, Int32, Int32, Int32, Int32) -> Void
    let copy: @convention(c) (gdImagePtr?, gdImagePtr?, Int32, Int32, Int32, Int32, Int32, Int32) -> Void
    let rotateInterpolated: @convention(c) (gdImagePtr?, Float, Int32) -> gdImagePtr?
    let setInterpolationMethod: @convention(c) (gdImagePtr?, gdInterpolationMethod) -> Int32
    let scale: @convention(c) (gdImagePtr?, UInt32, UInt32) -> gdImagePtr?
    let jpegPtr: @convention(c) (gdImagePtr?, UnsafeMutablePointer<Int32>?, Int32) -> UnsafeMutableRawPointer?
    let free: @convention(c) (UnsafeMutableRawPointer?) -> Void

    /// The library, loaded once (on first use); or why photos cannot be processed here.
    static let shared: Result<LibGD, PhotoProcessor.Refused> = load("libgd.so.3")

    private static func load(_ library: String) -> Result<LibGD, PhotoProcessor.Refused> {
        func unavailable(_ reason: String) -> PhotoProcessor.Refused {
            PhotoProcessor.Refused(description: "photos cannot be processed on this server: \(reason)", unavailable: true)
        }
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            return .failure(unavailable("\(dlerror().map { String(cString: $0) } ?? library) (install libgd3)"))
        }
        func symbol<Function>(_ name: String) throws(PhotoProcessor.Refused) -> Function {
            guard let address = dlsym(handle, name) else { throw unavailable("\(library) has no \(name)") }
            return unsafeBitCast(address, to: Function.self)
        }
        do throws(PhotoProcessor.Refused) {
            return .success(
                LibGD(
                    createFromJpegPtrEx: try symbol("gdImageCreateFromJpegPtrEx"),
                    createFromPngPtr: try symbol("gdImageCreateFromPngPtr"),
                    destroy: try symbol("gdImageDestroy"),
                    createTrueColor: try symbol("gdImageCreateTrueColor"),
                    filledRectangle: try symbol("gdImageFilledRectangle"),
                    copy: try symbol("gdImageCopy"),
                    rotateInterpolated: try symbol("gdImageRotateInterpolated"),
                    setInterpolationMethod: try symbol("gdImageSetInterpolationMethod"),
                    scale: try symbol("gdImageScale"),
                    jpegPtr: try symbol("gdImageJpegPtr"),
                    free: try symbol("gdFree")
                )
            )
        } catch {
            return .failure(error)
        }
    }
}
