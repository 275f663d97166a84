/// A grid's area as a polygon of `[longitude, latitude]` points (GeoJSON order), for placing
/// requests that come with coordinates.
public struct GeoArea: Sendable, Equatable, Codable {
    public var points: [[Double]]

    public init(points: [[Double]]) {
        self.points = points
    }

    /// A problem with the polygon, or `nil` when it can be used.
    public var problem: String? {
        guard points.count >= 3 else { return "needs at least 3 points" }
        for point in points {
            guard point.count == 2 else { return "each point is [longitude, latitude]" }
            guard (-180...180).contains(point[0]), (-90...90).contains(point[1]) else { return "point \(point) is out of range" }
        }
        return nil
    }

    /// Whether the point is inside (ray casting; a point on an edge may fall either way).
    public func contains(latitude: Double, longitude: Double) -> Bool {
        guard problem == nil else { return false }
        var inside = false
        var previous = points[points.count - 1]
        for point in points {
            let (x1, y1, x2, y2) = (previous[0], previous[1], point[0], point[1])
            if (y1 > latitude) != (y2 > latitude), longitude < (x2 - x1) * (latitude - y1) / (y2 - y1) + x1 {
                inside.toggle()
            }
            previous = point
        }
        return inside
    }
}
