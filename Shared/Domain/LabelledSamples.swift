/// Made-up but realistic resident complaints from a grid-governance district, each with its
/// category: for training and measuring `CategoryClassifier` without real (personal) data.
/// Deterministic: the same count and seed always give the same samples, on every platform.
public enum LabelledSamples {
    /// The categories the samples cover.
    public static let categories: [String] = vocabularies.map { $0.category }

    /// `count` samples drawn with `seed`: a place, a problem, sometimes a detail, how long or how
    /// often, a plea. About one in ten also mentions another category's problem (noise), and
    /// about one in twenty is in English.
    public static func generate(count: Int, seed: UInt64) -> [LabelledText] {
        var random = SplitMix64(seed: seed)
        var samples: [LabelledText] = []
        samples.reserveCapacity(max(count, 0))
        for _ in 0..<max(count, 0) {
            samples.append(sample(using: &random))
        }
        return samples
    }

    private static func sample(using random: inout SplitMix64) -> LabelledText {
        let index = random.below(vocabularies.count)
        let vocabulary = vocabularies[index]
        if random.chance(0.05) {
            var text = random.pick(vocabulary.english)
            if random.chance(0.3) {
                text = random.pick(englishPlaces) + ": " + text
            }
            if random.chance(0.5) {
                text += random.pick(englishTails)
            }
            return LabelledText(text: text, category: vocabulary.category)
        }
        var text = ""
        let place = random.pick(places)
        switch random.below(5) {
        case 0: text = "我是\(place)的，"
        case 1: text = "\(place)\(random.below(40) + 1)号，"
        case 2: text = place
        case 3: text = ""
        default: text = "\(place)这边"
        }
        var problems = [random.pick(vocabulary.problems)]
        if random.chance(0.1) {
            let other = vocabularies[(index + 1 + random.below(vocabularies.count - 1)) % vocabularies.count]
            let noise = random.pick(other.problems)
            if random.chance(0.5) {
                problems.insert(noise, at: 0)
            } else {
                problems.append("还有" + noise)
            }
        }
        text += problems.joined(separator: "，")
        if random.chance(0.4) {
            text += "，" + random.pick(vocabulary.details)
        }
        if random.chance(0.6) {
            text += "，" + random.pick(durations)
        }
        if random.chance(0.4) {
            text += "，" + random.pick(pleas)
        }
        text += random.pick(["。", "！", "", "。。"])
        return LabelledText(text: text, category: vocabulary.category)
    }

    private static let places = [
        "光华三组", "光华五组", "红星三组", "红星一组", "韩家圩小区", "大麦地村", "新民村二组", "东风社区",
        "河西安置小区", "桃园里", "白鹤村", "幸福家园",
    ]

    private static let durations = [
        "三天了", "好几次了", "很着急", "一个多星期了", "今天早上开始的", "从昨天晚上到现在", "半个月了", "每天都这样",
        "这个月第三次了", "已经很久了",
    ]

    private static let pleas = [
        "希望尽快处理", "反映过好几次没人管", "请派人来看看", "麻烦领导重视一下", "谢谢", "希望给个说法", "请尽快解决",
        "大家意见很大",
    ]

    private static let englishPlaces = ["Guanghua group 3", "Hanjiawei estate", "Hongxing group 3", "Damaidi village"]

    private static let englishTails = [", it keeps happening", ", please help", " for three days now", ", nobody has come", ", urgent", " every day"]

    private static let vocabularies: [Vocabulary] = [
        Vocabulary(
            category: "power",
            problems: [
                "又停电了", "家里老是跳闸", "电压太低，电磁炉炒不了菜", "电压低，电饭煲煮不了饭", "晚上灯一闪一闪的",
                "变压器负载不过来，一到晚上就断电", "电线老化，怕出事", "电压不够，空调开不起来", "整栋楼都没电",
                "一用热水器就跳闸", "用电高峰就停电", "供电不稳定，冰箱都烧坏了",
            ],
            details: ["冰箱里的肉都坏了", "晚上做不了饭", "家里老人热得受不了", "电器都不敢用", "孩子没法写作业"],
            english: [
                "power cut again in the evening", "the lights keep flickering at night", "the breaker trips whenever we cook",
                "no electricity since this morning", "voltage too low to run the rice cooker",
            ]
        ),
        Vocabulary(
            category: "electricity-price",
            problems: [
                "电价太高了", "一度电要一块一，比城里贵", "电费太贵，用不起", "别的村一度电四毛八，我们这贵一倍",
                "电费单上的钱对不上", "电费收费标准不清楚", "转供电加价收电费", "阶梯电价算错了", "这个月电费翻倍了",
                "按商业电价收居民的电费",
            ],
            details: ["要求公开收费依据", "多收的钱要退", "问了也没人解释", "跟国家规定的电价不一样"],
            english: [
                "the electricity bill is far too expensive", "we pay 1.1 yuan per kWh, too high",
                "electricity price is higher than in town", "we are overcharged for electricity",
            ]
        ),
        Vocabulary(
            category: "water",
            problems: [
                "又停水了", "水管爆裂，路上全是水", "水压太低，楼上没水", "自来水发黄，有异味", "水龙头流出来的水很浑浊",
                "供水管道漏水", "早上没水洗漱", "井水干了，吃水困难", "自来水有股消毒水味", "水表坏了一直漏",
            ],
            details: ["做饭都要去买桶装水", "衣服没法洗", "不敢给孩子喝", "只能去邻居家接水"],
            english: ["no water since yesterday", "a water pipe burst on the street", "the tap water is yellow", "water pressure is too low"]
        ),
        Vocabulary(
            category: "housing",
            problems: [
                "墙体开裂，裂缝越来越大", "屋顶漏雨，家里到处摆着盆", "院墙倒塌了一半", "住的是危房，不敢住", "房梁被虫蛀了",
                "地基下沉，门都关不上", "外墙瓷砖往下掉", "危房改造一直没人来看", "楼板有裂缝", "下雨墙面渗水发霉",
                "房子年久失修",
            ],
            details: ["怕哪天塌下来", "一家人挤在一间屋", "晚上睡觉都不踏实", "下大雨就更严重"],
            english: ["cracks in the wall are getting bigger", "the roof leaks when it rains", "the courtyard wall collapsed"]
        ),
        Vocabulary(
            category: "property",
            problems: [
                "物业不管事", "电梯坏了好几天没人修", "楼道灯不亮，晚上黑漆漆的", "垃圾没人清，堆在楼下发臭",
                "物业费收了不办事", "小区门禁坏了", "绿化带没人管，杂草丛生", "车位被乱占，物业不处理", "单元门锁坏了",
                "保安晚上不在岗", "公共区域卫生没人打扫",
            ],
            details: ["找物业也找不到人", "物业电话打不通", "业主都很有意见", "老人爬楼很困难"],
            english: ["the lift is broken again", "nobody collects the rubbish", "the stairwell lights are out", "property management does nothing"]
        ),
        Vocabulary(
            category: "market",
            problems: [
                "菜市场缺斤短两", "摊贩乱摆摊占道", "秤有问题，买一斤少二两", "猪肉价格乱涨", "商店不明码标价",
                "卖假货坑老人", "超市标价和结账不一样", "市场里强买强卖", "农贸市场乱收摊位费",
            ],
            details: ["好多人都被坑过", "找市场管理员也不管", "有小票可以作证", "摊主态度很凶"],
            english: ["the vendor's scale is rigged", "prices at the market are not displayed", "the shop sells fake goods"]
        ),
        Vocabulary(
            category: "food-safety",
            problems: [
                "小卖部卖过期食品", "餐馆卫生差，后厨很脏", "吃了路边摊拉肚子", "学校门口卖三无零食", "饭店用地沟油",
                "卤菜店苍蝇乱飞", "买到的牛奶变质了", "早餐店没有健康证", "外卖里吃出虫子", "熟食没有冷藏",
            ],
            details: ["孩子吃了肚子疼", "担心吃出问题", "拍了照片", "很多学生在那买"],
            english: ["the shop sells expired food", "the restaurant kitchen is dirty", "we got food poisoning from a street stall"]
        ),
        Vocabulary(
            category: "elderly-care",
            problems: [
                "独居老人没人照顾", "老人吃饭难，子女都在外地", "希望社区开个助餐点", "老人腿脚不便，没人送饭",
                "孤寡老人生病没人管", "养老院床位不够", "老年食堂关门了", "老人想申请居家养老服务", "八十多岁的老人一个人住",
            ],
            details: ["子女一年才回来一次", "老人有高血压", "邻居偶尔帮忙看一下", "老人不会用智能手机"],
            english: ["an elderly neighbour lives alone with no one to help", "old people need a canteen", "no one delivers meals to the elderly"]
        ),
        Vocabulary(
            category: "childcare",
            problems: [
                "孩子放学没人接", "双职工家庭需要托管", "附近没有托儿所", "暑假孩子没人看", "幼儿园名额不够",
                "课后托管班太贵", "留守儿童没人辅导作业", "想给两岁孩子找个托育点", "小孩放学后在路边玩没人看管",
            ],
            details: ["爸妈都在上班", "爷爷奶奶年纪大了带不动", "四点就放学了", "孩子才上一年级"],
            english: ["no one to pick up the kids after school", "we need after-school care", "there is no nursery nearby"]
        ),
        Vocabulary(
            category: "emergency",
            problems: [
                "化粪池冒气，有人头晕", "闻到煤气泄漏的味道", "楼下着火了", "有人被困在电梯里", "电线着火冒烟",
                "有人晕倒在路边", "河边有小孩落水", "燃气管道破了", "窨井盖没了，有人掉进去", "有人一氧化碳中毒",
            ],
            details: ["快来人", "已经打了120", "现场很危险", "人还没醒"],
            english: ["gas leak smell in the building", "fire in the building next door", "someone fainted near the septic tank"]
        ),
    ]
}

/// One category's phrases.
private struct Vocabulary: Sendable {
    var category: String
    /// What is wrong, the heart of a complaint.
    var problems: [String]
    /// What else residents say about it.
    var details: [String]
    /// A few English complaints.
    var english: [String]
}

/// SplitMix64: small, fast and the same on every platform (unlike `SystemRandomNumberGenerator`).
private struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (`bound` greater than 0; the modulo bias is negligible here).
    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    /// True with probability `probability`.
    mutating func chance(_ probability: Double) -> Bool {
        Double(next() >> 11) * 0x1p-53 < probability
    }

    /// One element of a non-empty array.
    mutating func pick(_ elements: [String]) -> String {
        elements[below(elements.count)]
    }
}
