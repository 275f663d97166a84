/// Display names of the usual categories; an unknown category shows its id.
public enum CategoryNames {
    static let names: [String: (zh: String, en: String)] = [
        "power": ("供电", "power supply"),
        "electricity-price": ("电价", "electricity price"),
        "water": ("供水", "water supply"),
        "gas": ("燃气", "gas"),
        "heating": ("供暖", "heating"),
        "housing": ("住房", "housing"),
        "property": ("物业", "property management"),
        "market": ("市场", "market"),
        "food-safety": ("食品安全", "food safety"),
        "elderly-care": ("养老", "elderly care"),
        "childcare": ("托幼", "childcare"),
        "subsidy": ("补贴", "subsidy"),
        "emergency": ("紧急情况", "emergency"),
        "sanitation": ("环境卫生", "sanitation"),
        "roads": ("道路", "roads"),
        "neighbour-dispute": ("邻里纠纷", "neighbour dispute"),
        "noise": ("噪音", "noise"),
    ]

    /// Every category with a name, in order (for pickers when the org cannot be read).
    public static var known: [String] { names.keys.sorted() }

    public static func label(_ category: String, language: String) -> String {
        guard let names = names[category] else { return category }
        return language == "en" ? names.en : names.zh
    }
}
