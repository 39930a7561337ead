"""The demo shop's stores, cities, categories and products: fixed tables plus seeded prices.

A lifestyle and beauty retailer with four city shops and an online flagship, fifteen
categories and two hundred products at realistic, psychologically rounded CNY prices.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoreSpec:
    code: str
    name: str
    city: str
    time_zone: str
    is_online: bool = False


# China keeps one time zone; each store still carries its own for display.
STORES = [
    StoreSpec("sh-flagship", "上海南京西路旗舰店 Shanghai Flagship", "上海", "Asia/Shanghai"),
    StoreSpec("bj-sanlitun", "北京三里屯店 Beijing Sanlitun", "北京", "Asia/Shanghai"),
    StoreSpec("gz-tianhe", "广州天河店 Guangzhou Tianhe", "广州", "Asia/Shanghai"),
    StoreSpec("cd-taikoo", "成都太古里店 Chengdu Taikoo Li", "成都", "Asia/Shanghai"),
    StoreSpec("online", "线上旗舰店 Online Flagship", "杭州", "Asia/Shanghai", is_online=True),
]
ONLINE_STORE = "online"
STORE_BY_CITY = {s.city: s.code for s in STORES if not s.is_online}


@dataclass(frozen=True, slots=True)
class CitySpec:
    name: str
    province: str
    weight: float
    postal_prefix: str
    districts: tuple[str, ...]
    roads: tuple[str, ...]


CITIES = [
    CitySpec(
        "上海",
        "上海市",
        14,
        "200",
        ("静安区", "徐汇区", "浦东新区", "黄浦区", "长宁区"),
        ("南京西路", "淮海中路", "世纪大道", "衡山路", "延安西路"),
    ),
    CitySpec(
        "北京",
        "北京市",
        12,
        "100",
        ("朝阳区", "海淀区", "东城区", "西城区"),
        ("建国路", "中关村大街", "三里屯路", "西单北大街"),
    ),
    CitySpec("广州", "广东省", 9, "510", ("天河区", "越秀区", "海珠区"), ("天河路", "中山五路", "江南大道中")),
    CitySpec("深圳", "广东省", 9, "518", ("南山区", "福田区", "罗湖区"), ("深南大道", "科苑路", "华强北路")),
    CitySpec("成都", "四川省", 8, "610", ("锦江区", "武侯区", "高新区"), ("春熙路", "天府大道", "人民南路")),
    CitySpec("杭州", "浙江省", 8, "310", ("西湖区", "滨江区", "上城区"), ("文三路", "延安路", "江南大道")),
    CitySpec("南京", "江苏省", 5, "210", ("鼓楼区", "玄武区", "秦淮区"), ("中山路", "珠江路", "汉中路")),
    CitySpec("武汉", "湖北省", 5, "430", ("江汉区", "武昌区", "洪山区"), ("解放大道", "中南路", "珞喻路")),
    CitySpec("重庆", "重庆市", 5, "400", ("渝中区", "江北区", "南岸区"), ("民族路", "建新北路", "南坪西路")),
    CitySpec("西安", "陕西省", 4, "710", ("雁塔区", "碑林区"), ("长安南路", "东大街", "小寨西路")),
    CitySpec("苏州", "江苏省", 4, "215", ("姑苏区", "工业园区"), ("观前街", "星湖街", "干将西路")),
    CitySpec("天津", "天津市", 4, "300", ("和平区", "南开区"), ("南京路", "鞍山道", "卫津路")),
    CitySpec("长沙", "湖南省", 3, "410", ("岳麓区", "芙蓉区"), ("五一大道", "麓山南路", "韶山北路")),
    CitySpec("厦门", "福建省", 3, "361", ("思明区", "湖里区"), ("中山路", "湖滨南路", "嘉禾路")),
]
CITY_BY_NAME = {c.name: c for c in CITIES}


@dataclass(frozen=True, slots=True)
class CategorySpec:
    code: str
    name: str
    median_price: int  # CNY
    bases: tuple[str, ...]
    variants: tuple[str, ...]


CATEGORIES = [
    CategorySpec(
        "skincare",
        "护肤 Skincare",
        220,
        (
            "玻尿酸保湿精华",
            "烟酰胺焕亮面膜",
            "氨基酸洁面乳",
            "积雪草修护面霜",
            "清透防晒乳 SPF50+",
            "抗皱眼霜",
            "舒缓爽肤水",
        ),
        ("30ml", "50ml", "旅行装"),
    ),
    CategorySpec(
        "makeup",
        "彩妆 Makeup",
        160,
        ("丝绒哑光口红", "持妆粉底液", "水光气垫", "九色眼影盘", "纤长睫毛膏", "自然眉笔", "控油定妆散粉"),
        ("#01", "#02", "#03"),
    ),
    CategorySpec(
        "fragrance",
        "香氛 Fragrance",
        420,
        ("淡香水", "浓香水", "香薰蜡烛", "藤条扩香", "车载香薰", "身体香氛喷雾"),
        ("白茶", "雪松", "玫瑰"),
    ),
    CategorySpec(
        "personal-care",
        "个护 Personal care",
        69,
        ("无硅油洗发水", "修护护发素", "氨基酸沐浴露", "烟酰胺身体乳", "美白牙膏", "护手霜", "电动牙刷刷头"),
        ("标准装", "家庭装"),
    ),
    CategorySpec(
        "baby",
        "母婴 Mother & baby",
        139,
        ("婴儿纯水湿巾", "轻薄纸尿裤", "婴儿润肤乳", "儿童软毛牙刷", "宽口径奶瓶", "硅胶辅食碗"),
        ("S", "M", "L"),
    ),
    CategorySpec(
        "snacks",
        "零食 Snacks",
        49,
        ("每日坚果", "风干牛肉干", "芒果干", "海苔脆", "72%黑巧克力", "黄油手工曲奇", "冻干草莓"),
        ("小包装", "量贩装"),
    ),
    CategorySpec(
        "tea",
        "茶饮 Tea & drinks",
        128,
        ("明前西湖龙井", "云南熟普洱", "福鼎白茶", "冷萃咖啡液", "挂耳咖啡", "花果茶"),
        ("100g", "250g", "礼盒装"),
    ),
    CategorySpec(
        "home",
        "家居 Home",
        199,
        ("全棉四件套", "天然乳胶枕", "羊毛针织毯", "可折叠收纳箱", "静音加湿器", "长绒棉浴巾"),
        ("米白", "雾霾蓝", "燕麦色"),
    ),
    CategorySpec(
        "kitchen",
        "厨具 Kitchen",
        169,
        ("麦饭石不粘炒锅", "陶瓷餐具套装", "316不锈钢保温杯", "玻璃保鲜盒", "德式刀具套装", "手冲咖啡壶"),
        ("标准款", "升级款"),
    ),
    CategorySpec(
        "apparel",
        "服饰 Apparel",
        259,
        ("重磅纯棉T恤", "羊绒围巾", "真丝衬衫", "轻薄羽绒服", "针织开衫", "垂感休闲裤"),
        ("S", "M", "L"),
    ),
    CategorySpec(
        "shoes",
        "鞋靴 Shoes",
        399,
        ("百搭小白鞋", "缓震跑步鞋", "切尔西靴", "软底乐福鞋", "一字凉鞋"),
        ("37码", "39码", "42码"),
    ),
    CategorySpec(
        "bags",
        "箱包 Bags",
        459,
        ("帆布托特包", "真皮斜挎包", "通勤双肩包", "20寸登机箱", "长款钱包"),
        ("黑色", "焦糖色", "奶白"),
    ),
    CategorySpec(
        "digital",
        "数码配件 Digital accessories",
        129,
        ("降噪无线耳机", "65W氮化镓快充", "20000mAh移动电源", "磁吸手机壳", "编织数据线", "便携蓝牙音箱"),
        ("白色", "黑色"),
    ),
    CategorySpec(
        "sports",
        "运动户外 Sports & outdoors",
        189,
        ("加厚瑜伽垫", "速干运动T恤", "碳素登山杖", "露营天幕", "健身弹力带", "大容量运动水壶"),
        ("标准款", "专业款"),
    ),
    CategorySpec(
        "pets",
        "宠物 Pets",
        89,
        ("全价成猫粮", "冻干鸡肉零食", "豆腐猫砂", "反光牵引绳", "四季宠物窝"),
        ("小份", "大份", "囤货装"),
    ),
]
PRODUCT_COUNT = 200
# Two house brands per category (fictional), alternating over its products.
BRANDS = {
    "skincare": ("润研 Runyan", "青禾 Qinghe"),
    "makeup": ("绯色 Feise", "墨染 Moran"),
    "fragrance": ("檀序 Tanxu", "雾屿 Wuyu"),
    "personal-care": ("洁时 Jieshi", "沐野 Muye"),
    "baby": ("贝护 Beihu", "小芽 Xiaoya"),
    "snacks": ("果然好 Guoranhao", "脆滋 Cuizi"),
    "tea": ("山茗 Shanming", "一叶 Yiye"),
    "home": ("栖木 Qimu", "棉舍 Mianshe"),
    "kitchen": ("匠厨 Jiangchu", "食器 Shiqi"),
    "apparel": ("素衣 Suyi", "城纹 Chengwen"),
    "shoes": ("步履 Bulv", "行止 Xingzhi"),
    "bags": ("行囊 Xingnang", "拾光 Shiguang"),
    "digital": ("极连 Jilian", "声动 Shengdong"),
    "sports": ("野径 Yejing", "跃动 Yuedong"),
    "pets": ("毛孩 Maohai", "喵汪 Miaowang"),
}
# Categories bought again and again: recommendations may show their products after a purchase.
REPEAT_CATEGORIES = ("skincare", "personal-care", "baby", "snacks", "tea", "pets")


@dataclass(frozen=True, slots=True)
class ProductSpec:
    sku: str
    name: str
    category: str  # category code
    price_cents: int
    popularity: float
    spu: str = ""  # the product the SKU is a variant of
    variant: str = ""
    brand: str = ""


def shop_price(raw_cny: float) -> int:
    """A realistic shelf price in cents: 39.90, 59.90, 129, 199, 1299…"""
    if raw_cny < 20:
        return max(990, int(raw_cny) * 100 - 10)
    if raw_cny < 100:
        return (int(raw_cny / 10) * 10 + 9) * 100 + 90
    if raw_cny < 1000:
        return (int(raw_cny / 10) * 10 + 9) * 100
    return (int(raw_cny / 100) * 100 + 99) * 100


def build_products(rng: random.Random) -> list[ProductSpec]:
    """Two hundred products spread over the fifteen categories, with Zipf-like popularity."""
    per_category = [PRODUCT_COUNT // len(CATEGORIES)] * len(CATEGORIES)
    for i in range(PRODUCT_COUNT - sum(per_category)):
        per_category[i] += 1
    products: list[ProductSpec] = []
    for category, count in zip(CATEGORIES, per_category, strict=True):
        seen: set[str] = set()
        for j in range(count):
            base = category.bases[j % len(category.bases)]
            variant = category.variants[(j // len(category.bases)) % len(category.variants)]
            name = f"{base} {variant}"
            if name in seen:
                name = f"{name} 第{j // (len(category.bases) * len(category.variants)) + 2}代"
            seen.add(name)
            price = shop_price(category.median_price * rng.lognormvariate(0, 0.45))
            sku = f"{category.code[:3].upper()}-{len(products) + 1:04d}"
            spu = f"{category.code[:3].upper()}-S{category.bases.index(base) + 1:02d}"
            brand = BRANDS[category.code][category.bases.index(base) % 2]
            products.append(ProductSpec(sku, name, category.code, price, 0.0, spu, variant, brand))
    order = list(range(len(products)))
    rng.shuffle(order)
    return [
        ProductSpec(p.sku, p.name, p.category, p.price_cents, 1.0 / (rank + 1) ** 0.8, p.spu, p.variant, p.brand)
        for p, rank in zip(products, order, strict=True)
    ]
