"""The retail vocabulary the bot's matching understands: a jieba user dictionary, synonyms and
colloquial forms folded onto one *concept* token, and the words that carry no content.

Concepts are shared by both languages (退款 and "refund" are the same token), so a mixed question
such as "refund多久到账" matches the Chinese article, and an English question can fall back on a
Chinese article's variants when the shop wrote none in English. Only words that mean the same to a
customer are folded together: 退货 (sending goods back) and 退款 (money back) stay apart because
they are different articles' subjects.
"""

from __future__ import annotations

import re

# Words jieba's default dictionary splits or does not know, as a customer types them.
_USER_WORDS = (
    "退货 换货 发货 到账 花呗 借呗 专票 普票 储值卡 礼品卡 购物卡 优惠券 满减券 代金券 运费险 快递单号 "
    "运单号 物流单号 收货地址 收件地址 七天无理由 无理由退货 原路退回 确认收货 申请售后 售后 补发 少件 "
    "漏发 错发 发错 开线 掉色 起球 尺码 换尺码 换码 大一码 小一码 大一号 小一号 会员等级 银卡 金卡 铂金卡 "
    "会员中心 积分 抵扣 清零 电子发票 增值税专用发票 发票抬头 税号 营业时间 线下店 实体店 门店 手机号 "
    "验证码 退订 营销短信 预售 现货 大促 双十一 双11 618 拍错 撤销 撤回 到哪了 查物流 查快递 几点 改地址 "
    "美妆 护肤品"
)
USER_WORDS = tuple(_USER_WORDS.split())

# concept: forms (Chinese words, English words after stemming, or English phrases).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "退货": (
        "退货",
        "退",
        "退掉",
        "退回去",
        "寄回",
        "寄回去",
        "无理由退货",
        "七天无理由",
        "return",
        "send back",
        "take back",
        "give back",
    ),
    "退款": ("退款", "退钱", "钱退", "返款", "原路退回", "refund", "money back"),
    "到账": ("到账", "入账", "收到钱", "credited", "arrive in my account", "show up"),
    "多久": ("多久", "几天", "多长时间", "多少天", "要多久", "how long", "how many days", "how soon", "take long"),
    "发货": ("发货", "发出", "寄出", "发走", "出库", "ship", "shipp", "dispatch", "send out", "sent out"),
    "物流": (
        "物流",
        "快递",
        "包裹",
        "快件",
        "查件",
        "查物流",
        "查快递",
        "到哪了",
        "parcel",
        "package",
        "courier",
        "track",
        "tracking",
        "where is my order",
        "where's my order",
    ),
    "单号": ("单号", "快递单号", "运单号", "物流单号", "tracking number", "tracking code"),
    "地址": ("地址", "收货地址", "收件地址", "家里", "我家", "公司地址", "address", "home", "office"),
    "修改": ("修改", "改", "更改", "改成", "改一下", "update", "change", "edit", "correct"),
    "取消": ("取消", "撤销", "撤回", "撤单", "cancel", "cancell"),
    "拍错": ("拍错", "下错", "买错", "by mistake", "mistake", "wrong order", "bought the wrong"),
    "换货": ("换货", "换尺码", "换码", "换一件", "exchange", "exchang", "swap"),
    "尺码": (
        "尺码",
        "尺寸",
        "码数",
        "码",
        "大一码",
        "小一码",
        "大一号",
        "小一号",
        "太小",
        "太大",
        "偏小",
        "偏大",
        "太长",
        "太短",
        "size",
        "fit",
        "too small",
        "too big",
        "too large",
        "larger",
        "smaller",
        "bigger",
        "tight",
        "loose",
    ),
    "颜色": (
        "颜色",
        "色",
        "黑色",
        "白色",
        "红色",
        "蓝色",
        "绿色",
        "灰色",
        "粉色",
        "黄色",
        "紫色",
        "米色",
        "卡其色",
        "colour",
        "color",
        "black",
        "white",
        "red",
        "blue",
        "green",
        "grey",
        "gray",
        "pink",
        "yellow",
        "purple",
        "beige",
    ),
    "破损": (
        "破损",
        "坏了",
        "坏",
        "碎",
        "碎了",
        "摔坏",
        "压坏",
        "破",
        "洞",
        "damag",
        "damage",
        "broken",
        "broke",
        "crack",
        "smash",
        "crush",
    ),
    "瑕疵": ("瑕疵", "质量问题", "质量", "开线", "掉色", "起球", "faulty", "fault", "defect", "defective"),
    "少件": ("少件", "少了", "漏发", "少发", "缺", "missing"),
    "发错": ("发错", "错发", "寄错", "wrong item", "wrong product", "sent me the wrong"),
    "会员": ("会员", "vip", "member", "membership"),
    "等级": ("等级", "级别", "会员等级", "level", "tier"),
    "升级": ("升级", "升", "upgrade", "become", "reach"),
    "银卡": ("银卡", "silver"),
    "金卡": ("金卡", "gold"),
    "铂金卡": ("铂金卡", "铂金", "platinum"),
    "权益": ("权益", "好处", "福利", "特权", "benefit", "perk", "advantage"),
    "积分": ("积分", "point"),
    "过期": ("过期", "失效", "有效期", "清零", "作废", "expire", "expir", "expiry", "expiration"),
    "抵扣": ("抵扣", "抵", "抵钱", "抵现", "当钱", "兑换", "redeem"),
    "优惠券": ("优惠券", "券", "满减券", "代金券", "红包", "coupon", "voucher", "promo code", "discount code"),
    "叠加": ("叠加", "一起用", "同时用", "同时", "一起使用", "stack", "combine", "combin", "two coupon", "two voucher"),
    "用不了": (
        "用不了",
        "不能用",
        "无效",
        "不可用",
        "用不上",
        "invalid",
        "not working",
        "not work",
        "doesn't work",
        "unavailable",
    ),
    "发票": ("发票", "开票", "电子发票", "普票", "invoice", "fapiao", "receipt"),
    "专票": ("专票", "专用发票", "增值税专用发票", "增值税", "vat"),
    "抬头": ("抬头", "发票抬头", "company title", "company name"),
    "税号": ("税号", "纳税人识别号", "tax number", "tax id"),
    "门店": ("门店", "实体店", "线下店", "店里", "店铺", "商店", "专卖店", "店", "store", "shop", "outlet"),
    "营业时间": ("营业时间", "几点", "开门", "关门", "营业", "opening hours", "store hours", "what time"),
    "支付": ("支付", "付款", "付钱", "买单", "结账", "付", "pay", "payment", "checkout"),
    "微信": ("微信", "微信支付", "wechat", "weixin"),
    "支付宝": ("支付宝", "alipay"),
    "花呗": ("花呗", "huabei"),
    "分期": ("分期", "instalment", "installment"),
    "信用卡": ("信用卡", "visa", "mastercard", "credit card", "银行卡", "银联", "unionpay"),
    "失败": ("失败", "付不了", "不成功", "付不上", "fail", "declin", "decline", "not going through"),
    "手机号": ("手机号", "手机号码", "电话号码", "号码", "换号", "phone", "mobile", "phone number"),
    "账户": ("账户", "账号", "个人信息", "资料", "account", "profile", "detail"),
    "登录": ("登录", "登陆", "log in", "login", "sign in"),
    "邮箱": ("邮箱", "邮件", "email", "e-mail", "mail"),
    "生日": ("生日", "birthday"),
    "退订": (
        "退订",
        "取消订阅",
        "不想收",
        "别发",
        "不要再发",
        "别再发",
        "unsubscribe",
        "opt out",
        "stop sending",
        "stop getting",
        "remove me from",
        "mailing list",
    ),
    "没更新": (
        "没更新",
        "不更新",
        "没有更新",
        "没动",
        "不动",
        "没动静",
        "stuck",
        "not moving",
        "no update",
        "no updates",
        "hasn't moved",
        "has not moved",
        "not updated",
    ),
    "营销": (
        "营销",
        "广告",
        "推广",
        "促销",
        "marketing",
        "promotional",
        "promotion",
        "spam",
        "advert",
        "newsletter",
        "promo",
    ),
    "短信": ("短信", "sms", "text", "text message", "message"),
    "运费": ("运费", "邮费", "快递费", "postage", "shipping fee", "shipping cost", "return shipping", "delivery fee"),
    "订单": ("订单", "下单", "order"),
    "预售": ("预售", "pre-order", "preorder", "pre order"),
    "送达": ("送达", "到货", "收到货", "配送", "送到", "签收", "delivery", "deliver", "arrive", "arriv"),
    "美妆": ("美妆", "化妆品", "护肤品", "口红", "cosmetic", "makeup"),
    "内衣": ("内衣", "underwear", "lingerie"),
    "储值卡": ("储值卡", "stored-value card", "stored value card", "prepaid card"),
    "钱": ("钱", "money"),
    "节假日": (
        "节假日",
        "假日",
        "节日",
        "周末",
        "周六",
        "周日",
        "星期六",
        "星期天",
        "星期日",
        "holiday",
        "weekend",
        "saturday",
        "sunday",
        "bank holiday",
    ),
    # Retail subjects a shop's knowledge base may not cover: known words, so a question about them
    # is recognised as being about something no article holds (and handed over), never as filler.
    "货到付款": ("货到付款", "cash on delivery", "pay on delivery"),
    "退现": (
        "退现",
        "退现金",
        "退成现金",
        "换成现金",
        "退回现金",
        "兑现",
        "变现",
        "提现",
        "取现",
        "换现金",
        "cash back",
        "cash out",
        "cashback",
        "cash refund",
        "refund in cash",
    ),
    "充值": ("充值", "top up", "top-up", "recharge"),
    "停车": ("停车", "停车场", "parking"),
    "二手": ("二手", "回收", "second-hand", "second hand"),
    "礼品卡": ("礼品卡", "购物卡", "gift card", "gift voucher"),
    "以旧换新": ("以旧换新", "trade-in", "trade in"),
    "价保": ("价保", "保价", "补差价", "差价", "price protection", "price match", "price matching", "price drop"),
    "海外": ("海外", "国外", "境外", "国际", "international", "overseas", "abroad"),
    "礼品包装": ("礼品包装", "包装成礼物", "gift wrap", "gift wrapping", "gift-wrap"),
    "面料": ("面料", "材质", "成分", "fabric", "material"),
    "加盟": ("加盟", "代理", "franchise"),
    "招聘": ("招聘", "招人", "应聘", "工作机会", "hiring", "job", "vacancy", "career"),
    # What a shop sells: a product's name is not what a policy question is about.
    "商品": (
        "商品",
        "产品",
        "宝贝",
        "衣服",
        "裤子",
        "裙子",
        "连衣裙",
        "外套",
        "衬衫",
        "t恤",
        "毛衣",
        "卫衣",
        "大衣",
        "羽绒服",
        "牛仔裤",
        "鞋",
        "鞋子",
        "靴子",
        "运动鞋",
        "包",
        "包包",
        "背包",
        "手提包",
        "帽子",
        "围巾",
        "袜子",
        "手套",
        "杯子",
        "首饰",
        "项链",
        "手表",
        "眼镜",
        "面霜",
        "香水",
        "item",
        "product",
        "dress",
        "skirt",
        "shirt",
        "t-shirt",
        "jacket",
        "coat",
        "jumper",
        "sweater",
        "hoodie",
        "trousers",
        "pants",
        "jeans",
        "shoe",
        "boot",
        "trainer",
        "sneaker",
        "bag",
        "handbag",
        "backpack",
        "hat",
        "scarf",
        "sock",
        "glove",
        "cup",
        "mug",
        "jewellery",
        "jewelry",
        "necklace",
        "watch",
        "perfume",
        "clothes",
        "clothing",
        "zip",
        "zipper",
        "button",
        "拉链",
        "扣子",
        "top",
        "vase",
    ),
    # Cities where a shop has stores or delivers: the articles speak of "your city".
    "城市": (
        "城市",
        "北京",
        "上海",
        "广州",
        "深圳",
        "杭州",
        "南京",
        "苏州",
        "成都",
        "重庆",
        "武汉",
        "西安",
        "天津",
        "长沙",
        "city",
        "beijing",
        "shanghai",
        "guangzhou",
        "shenzhen",
        "hangzhou",
        "nanjing",
        "suzhou",
        "chengdu",
        "chongqing",
        "wuhan",
    ),
}

# Words that carry no content: dropped from questions and articles alike.
_ZH_STOP = (
    "的 了 吗 呢 吧 啊 呀 啦 嘛 呗 哦 喔 噢 嗯 哈 么 我 你 他 她 它 我们 你们 他们 您 咱 俺 我的 你们的 "
    "是 在 有 和 与 及 就 都 也 还 还能 要 会 能 能不能 可以 可不可以 可以吗 怎么 怎样 如何 什么 怎么办 "
    "怎么回事 咋 啥 哪里 哪儿 在哪 在哪里 请问 一下 这个 那个 这 那 个 请 谢谢 您好 你好 想 问 为什么 "
    "没有 没 不 吗？ ， 。 ？ ！ 、 , . ? ! 一直 现在 已经 给 帮 帮我 查一下 的话 得 着 过 又 再 好 多 被 "
    "把 让 如果 但是 可是 因为 所以 一个 一件 东西 时候 需要 是不是 有没有 行不行 行 吗 呀 哪 几 些 "
    "些什么 里 后 前 上 下 用 弄 内 来 去 回 谁 出 哪个"
)
ZH_STOP = frozenset(_ZH_STOP.split())
_EN_STOP = (
    "a an the and or but if of to in on at for from by with about as is are was were be been being do "
    "does did i me my we our you your he she it its they them their this that these those what which who "
    "whom how when where why can could would should will shall may might must have has had not no yes "
    "please thanks thank hi hello hey there here any some get got am just so than too very also don't "
    "doesn't didn't can't won't isn't it's i'm i've i'd want need like still yet already one my ok okay"
)
EN_STOP = frozenset(_EN_STOP.split())

# Chinese and English function or colloquial words that are not a question's key content even when
# no article has them: a question is not handed over for "烦死了" or "actually".
_GENERIC_ZH_EN = (
    "烦 烦死 烦死了 麻烦 急 着急 真的 到底 究竟 一般 大概 赶紧 马上 今天 昨天 明天 刚 刚刚 刚才 之前 之后 "
    "以后 现在 一周 一个月 好几天 几天了 收到 买 买的 买了 购买 商品 东西 衣服 件 单 问题 情况 客服 亲 "
    "老板 回去 回来 过来 一点 有点 一些 一样 别的 其他 另外 还是 或者 一下子 自己 这边 那边 看看 试试 "
    "喜欢 不喜欢 讨厌 满意 actually really quite now today yesterday week month ago already time thing "
    "something anything way item product order bought buy purchased received got tell know help make sure "
    "go going come still ever again soon new old day days long much many pleas kind right wrong work"
)
# everyday English verbs, adjectives, adverbs and numbers: how a question is put, not what about
_GENERIC_EVERYDAY = (
    "able accept add agree allow ask back bad best better big bigger biggest bit both bring call can't "
    "case cheap check choose clear close come complete correct could cost count current cut deal "
    "different do done down each early easy else empty end enough enter even every exact fast few fill "
    "find fine finish first fix free full give go good great half hand happen hard have hear high hold "
    "how however idea keep large last late later least leave less let little live look lose lost lot low "
    "main make many maybe mean mind more most move near nearest need never next nice normal nothing "
    "number often once only open other out over own part pick place plan possible put quick quickly "
    "rather reason receiv receive remember same say see seem send sent set several show simple since "
    "small smaller sorry start stay stop sure take talk than then thing think through today tomorrow too "
    "total try turn two three four five six seven eight nine ten twice under until up upon us usual "
    "usually wait want way well whole why will within without worry would write yes yet location locat "
    "area nearby local someone somebody anyone person people friend family everything situation issue inside dont "
    "problem question answer info information option options choice possibly came instead like love hate "
    "happy unhappy sad angry ago soon already"
)
GENERIC = frozenset(_GENERIC_ZH_EN.split()) | frozenset(_GENERIC_EVERYDAY.split())

_PHRASES = sorted(
    ((form, concept) for concept, forms in SYNONYMS.items() for form in forms if " " in form or "-" in form),
    key=lambda item: -len(item[0]),
)
PHRASE = re.compile("|".join(r"\b" + re.escape(form) + r"\b" for form, _concept in _PHRASES))
PHRASE_CONCEPT = dict(_PHRASES)
WORD_CONCEPT = {form: concept for concept, forms in SYNONYMS.items() for form in forms if " " not in form}


def concept(token: str) -> str:
    """The concept a single word stands for (itself when it is not a known synonym)."""
    return WORD_CONCEPT.get(token, token)
