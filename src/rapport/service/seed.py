"""The starting content of customer service for the demo shop: knowledge-base articles in
Simplified Chinese and English, canned replies, SLA policies and opening hours.

Each article has a stable ``key`` (the same topic in both languages); the bot's labelled
question set refers to these keys.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rapport.core.actor import Actor
from rapport.service import kb, services
from rapport.service.models import ArticleCategory, ArticleQuestion, BusinessHours, CannedReply, SlaPolicy


@dataclass(frozen=True)
class Topic:
    key: str
    category: str
    zh: tuple[str, str, str]  # title, keywords, body
    en: tuple[str, str, str]


CATEGORIES = ["订单与配送 Orders & delivery", "退换货 Returns", "会员与积分 Membership", "账户与支付 Account & payment"]

TOPICS = [
    Topic(
        "returns",
        "退换货 Returns",
        (
            "七天无理由退货政策",
            "退货 退回 不想要 无理由 退掉 运费",
            "签收后7天内，商品未穿着、吊牌完好即可申请无理由退货。在“我的订单”中选择订单并点击“申请退货”，"
            "按页面提示寄回即可，寄回运费由我们承担（质量问题）或由您承担（个人原因）。\n\n"
            "内衣、定制商品和已拆封的美妆产品不支持无理由退货。",
        ),
        (
            "7-day no-reason returns",
            "return send back refund unwanted",
            "You can return any item within 7 days of delivery as long as it is unworn with its tags attached. Open "
            "the order under My orders, choose Request a return and follow the steps; we pay the return postage "
            "for faulty items.\n\nUnderwear, made-to-measure items and opened cosmetics cannot be returned "
            "without a fault.",
        ),
    ),
    Topic(
        "refund_time",
        "退换货 Returns",
        (
            "退款多久到账",
            "退款 到账 钱 多久 退回 原路",
            "仓库收到退货并验收后1个工作日内为您办理退款，款项原路退回：支付宝、微信支付一般即时到账，"
            "银行卡需要3–7个工作日。\n\n如超过7个工作日仍未到账，请联系客服并提供订单号。",
        ),
        (
            "When will I get my refund?",
            "refund money back when days credit card",
            "We refund within one working day after the warehouse has received and checked your return. The money "
            "goes back to the way you paid: Alipay and WeChat Pay are usually instant, bank cards take 3 to 7 "
            "working days.\n\nIf it has not arrived after 7 working days, contact us with your order number.",
        ),
    ),
    Topic(
        "shipping_time",
        "订单与配送 Orders & delivery",
        (
            "下单后多久发货",
            "发货 几天 多久 寄出 什么时候发",
            "现货商品在付款后24小时内发货（大促期间48小时内），预售商品按商品页标注的日期发货。"
            "江浙沪一般次日送达，其他地区2–4天。\n\n发货后您会收到短信通知和快递单号。",
        ),
        (
            "How soon do you ship?",
            "ship dispatch send when delivery days take long",
            "Items in stock ship within 24 hours of payment (48 hours during big sales); pre-orders ship on the date "
            "shown on the product page. Delivery usually takes 1 day in Shanghai, Jiangsu and Zhejiang and 2 to 4 "
            "days elsewhere.\n\nYou receive a text message with the tracking number when your parcel leaves.",
        ),
    ),
    Topic(
        "tracking",
        "订单与配送 Orders & delivery",
        (
            "查询物流和快递进度",
            "物流 快递 单号 包裹 到哪了 查件",
            "在“我的订单”中打开订单即可看到快递公司、单号和最新物流进度，也可以用单号在快递公司官网查询。\n\n"
            "如物流信息超过3天没有更新，请联系客服，我们会帮您向快递公司核实。",
        ),
        (
            "Tracking your parcel",
            "track tracking parcel package where courier",
            "Open the order under My orders to see the courier, the tracking number and the latest status; you can "
            "also track it on the courier's website.\n\nIf the tracking has not moved for 3 days, contact us and we "
            "will chase the courier.",
        ),
    ),
    Topic(
        "change_address",
        "订单与配送 Orders & delivery",
        (
            "修改收货地址",
            "改地址 收货地址 地址写错 换地址",
            "订单发货前可以在“我的订单”中直接修改收货地址；已发货的订单请联系客服，我们会尝试联系快递改派，"
            "但无法保证成功。\n\n常用地址可以在“账户设置–收货地址”中管理。",
        ),
        (
            "Changing the delivery address",
            "address wrong change delivery address",
            "Before your order ships you can change the delivery address yourself under My orders. Once it has "
            "shipped, contact us and we will ask the courier to redirect it, which usually but not always works.\n\n"
            "Manage saved addresses under Account settings.",
        ),
    ),
    Topic(
        "cancel_order",
        "订单与配送 Orders & delivery",
        (
            "取消订单",
            "取消 不要了 撤销订单 拍错",
            "未发货的订单可以在“我的订单”中点击“取消订单”，款项会原路退回。已发货的订单无法取消，"
            "请在签收后申请退货。\n\n使用了优惠券的订单取消后，优惠券在有效期内会自动退回到您的账户。",
        ),
        (
            "Cancelling an order",
            "cancel order mistake undo",
            "Orders that have not shipped can be cancelled under My orders with Cancel order, and the payment is "
            "refunded the way you paid. Shipped orders cannot be cancelled; please return them after delivery.\n\n"
            "A coupon used on a cancelled order comes back to your account while it is still valid.",
        ),
    ),
    Topic(
        "exchange",
        "退换货 Returns",
        (
            "换尺码和换货",
            "换货 尺码 不合适 大了 小了 换一件 换颜色",
            "签收后15天内可以免费换一次尺码或颜色（同款同价）。在“我的订单”中选择“申请换货”并选择新的尺码，"
            "新商品会在收到退回商品后发出。\n\n如需换不同款式，请先退货再重新下单。",
        ),
        (
            "Exchanging for another size",
            "exchange size fit too small too big colour swap",
            "Within 15 days of delivery you can exchange once for another size or colour of the same item, free of "
            "charge. Choose Request an exchange under My orders and pick the new size; we send it when your return "
            "arrives.\n\nFor a different product, return the item and place a new order.",
        ),
    ),
    Topic(
        "damaged",
        "退换货 Returns",
        (
            "收到商品破损或有质量问题",
            "破损 质量问题 坏了 瑕疵 开线 少件 发错",
            "收到的商品有破损、瑕疵、发错或少件，请在签收后48小时内拍照（外包装、商品、问题细节）提交售后，"
            "我们会为您补发、换新或全额退款，来回运费由我们承担。\n\n请保留原包装直到售后处理完成。",
        ),
        (
            "Damaged, faulty or wrong items",
            "damaged broken faulty defect wrong item missing",
            "If an item arrives damaged, faulty, wrong or missing, send us photos of the box, the item and the "
            "problem within 48 hours of delivery. We will send a replacement or refund you in full, and we pay the "
            "postage both ways.\n\nPlease keep the original packaging until we have sorted it out.",
        ),
    ),
    Topic(
        "levels",
        "会员与积分 Membership",
        (
            "会员等级与权益",
            "会员 等级 升级 银卡 金卡 铂金卡 权益 VIP 消费多少",
            "会员等级按最近12个月的实付金额计算：满2000元为银卡，满6000元为金卡，满15000元为铂金卡。"
            "等级越高，积分倍率、生日礼和专属折扣越多。\n\n等级每月1日重新计算，可在会员中心查看升级进度。",
        ),
        (
            "Membership levels and benefits",
            "membership level tier upgrade silver gold platinum vip benefits",
            "Your level follows what you paid in the last 12 months: Silver from ¥2,000, Gold from ¥6,000 and "
            "Platinum from ¥15,000. Higher levels earn more points per yuan and get better birthday gifts and "
            "member discounts.\n\nLevels are recalculated on the 1st of each month; the member centre shows your "
            "progress.",
        ),
    ),
    Topic(
        "points",
        "会员与积分 Membership",
        (
            "积分怎么获得和使用",
            "积分 抵扣 到账 过期 兑换 攒积分 用积分",
            "每消费1元得1积分（金卡1.5倍、铂金卡2倍），订单确认收货7天后积分到账。下单时100积分可抵1元，"
            "最多抵扣订单金额的50%。\n\n积分有效期为获得后的第二年年底，过期积分自动清零。",
        ),
        (
            "Earning and using points",
            "points earn use expire redeem balance credited",
            "You earn 1 point per yuan (1.5 for Gold, 2 for Platinum), credited 7 days after you confirm delivery. "
            "At checkout 100 points pay for ¥1, up to half of the order.\n\nPoints expire at the end of the year "
            "after the one you earned them in.",
        ),
    ),
    Topic(
        "coupons",
        "会员与积分 Membership",
        (
            "优惠券使用规则",
            "优惠券 券 用不了 满减 叠加 过期",
            "优惠券需在有效期内、订单满足门槛金额时使用，每个订单限用一张，不能与会员折扣以外的其他优惠叠加。"
            "下单页会自动显示可用的优惠券。\n\n如果优惠券显示不可用，请检查适用商品和有效期。",
        ),
        (
            "Using coupons",
            "coupon voucher code discount not working expired",
            "A coupon works within its validity dates on orders that reach its minimum amount; one coupon per order, "
            "and it does not combine with other promotions except your member discount. Checkout shows the coupons "
            "you can use.\n\nIf a coupon shows as unavailable, check which products it applies to and its dates.",
        ),
    ),
    Topic(
        "invoice",
        "账户与支付 Account & payment",
        (
            "如何开发票",
            "发票 开票 增值税 电子发票 抬头 税号",
            "确认收货后可以在“我的订单–申请发票”中开具电子普通发票或增值税专用发票，填写抬头和税号即可，"
            "电子发票会在1–3个工作日内发送到您的邮箱。\n\n发票金额为实付金额，不含积分和优惠券抵扣部分。",
        ),
        (
            "Getting an invoice (fapiao)",
            "invoice fapiao receipt vat tax",
            "After you confirm delivery, request an electronic invoice (fapiao) or a VAT special invoice under My "
            "orders with your company title and tax number; it reaches your email within 1 to 3 working days.\n\n"
            "The invoice shows the amount you paid, without points or coupons.",
        ),
    ),
    Topic(
        "store_hours",
        "账户与支付 Account & payment",
        (
            "门店营业时间和地址",
            "门店 营业时间 几点 开门 关门 地址 线下店",
            "各门店营业时间为每天10:00–22:00（节假日以门店公告为准），地址和电话可以在“门店”页面按城市查询。\n\n"
            "线上订单支持到门店退换货，请携带订单号。",
        ),
        (
            "Store opening hours and locations",
            "store shop opening hours open close location",
            "Our stores are open every day from 10:00 to 22:00 (holiday hours are posted in each store); find "
            "addresses and phone numbers by city on the Stores page.\n\nYou can return or exchange online orders in "
            "any store with your order number.",
        ),
    ),
    Topic(
        "payment",
        "账户与支付 Account & payment",
        (
            "支持哪些支付方式",
            "支付 付款 微信 支付宝 信用卡 花呗 分期 付不了",
            "我们支持微信支付、支付宝（含花呗分期）、银联卡和Visa/Mastercard信用卡。"
            "门店另外支持现金和储值卡。\n\n付款失败时请确认余额和支付限额，或换一种支付方式。",
        ),
        (
            "Ways to pay",
            "pay payment wechat alipay card visa mastercard failed",
            "We accept WeChat Pay, Alipay (including Huabei instalments), UnionPay cards and Visa or Mastercard "
            "credit cards; stores also take cash and stored-value cards.\n\nIf a payment fails, check your balance "
            "and limits or try another method.",
        ),
    ),
    Topic(
        "account",
        "账户与支付 Account & payment",
        (
            "修改手机号和账户信息",
            "手机号 换号 账户 个人信息 修改 登录",
            "在会员中心的“账户设置”中可以修改姓名、生日和邮箱；更换手机号需要先用原手机号接收验证码。"
            "原手机号已停用的，请联系客服核实身份后更换。\n\n我们不会通过电话或短信索要您的验证码。",
        ),
        (
            "Changing your phone number or details",
            "phone number change account details login profile",
            "Change your name, birthday and email under Account settings in the member centre; to change your "
            "phone number you confirm a code sent to the old one. If the old number no longer works, contact us "
            "and we will verify it is you.\n\nWe never ask for your codes by phone or message.",
        ),
    ),
    Topic(
        "unsubscribe",
        "账户与支付 Account & payment",
        (
            "退订营销短信和邮件",
            "退订 短信 广告 营销 邮件 不想收 骚扰",
            "回复短信“TD”或点击邮件底部的“退订”链接即可停止接收营销信息，也可以在会员中心的“消息设置”中"
            "按渠道关闭。\n\n退订后您仍会收到订单、物流和售后相关的服务通知。",
        ),
        (
            "Stopping marketing messages",
            "unsubscribe stop marketing messages emails sms spam",
            "Reply TD to a text message or use the unsubscribe link at the bottom of an email to stop marketing "
            "messages; you can also switch each channel off under Message settings in the member centre.\n\nYou "
            "will still receive service messages about your orders, deliveries and requests.",
        ),
    ),
]

# Question variants (相似问法) per topic, (Chinese, English): how customers ask for each article.
# The bot's matching learns from them; staff add more in the console.
PLAIN_VARIANTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "returns": (
        (
            "不想要了可以退货吗",
            "七天无理由退货怎么申请",
            "退货流程是什么",
            "衣服没穿过能退吗",
            "退货的运费谁承担",
            "拆封了还能退货吗",
            "退货要寄到哪里",
            "退货寄到什么地址",
        ),
        (
            "How do I return an item?",
            "Can I send something back?",
            "What is the return policy?",
            "Who pays for return postage?",
            "Can I return opened cosmetics?",
            "Can I return sale items?",
            "How do returns work?",
            "I don't want it any more, can I return it?",
            "How many days do I have to return something?",
        ),
    ),
    "refund_time": (
        (
            "退款什么时候到账",
            "退的钱多久能收到",
            "退款退到哪里",
            "退款一直没到账怎么办",
            "退款要几个工作日",
            "退款是退回原来的支付方式吗",
            "退的钱还没收到",
        ),
        (
            "How long does a refund take?",
            "When will the money be back on my card?",
            "My refund has not arrived",
            "Where does my refund go?",
            "How many working days for a refund?",
            "Is the refund instant with WeChat Pay?",
        ),
    ),
    "shipping_time": (
        (
            "什么时候发货",
            "下单多久能发货",
            "几天能收到货",
            "预售商品什么时候发货",
            "多久能送到",
            "大促的时候发货要多久",
        ),
        (
            "When will my order ship?",
            "How long does delivery take?",
            "How many days until I receive my order?",
            "When do pre-orders ship?",
            "How quickly do you send orders out?",
            "Is shipping slower during big sales?",
        ),
    ),
    "tracking": (
        ("我的快递到哪了", "怎么查物流", "快递单号在哪看", "物流信息不更新了", "包裹到哪里了", "怎么看快递进度"),
        (
            "Where is my parcel?",
            "How do I track my order?",
            "Where can I find the tracking number?",
            "The tracking has not changed for days",
            "Which courier delivers my package?",
            "Track my delivery",
        ),
    ),
    "change_address": (
        ("怎么修改收货地址", "地址写错了怎么办", "发货后还能改地址吗", "能改一下收件地址吗", "想换个收货地址"),
        (
            "How do I change my delivery address?",
            "I gave the wrong address",
            "Can I change the address after it shipped?",
            "Update the shipping address on my order",
            "Send my order to a different address",
        ),
    ),
    "cancel_order": (
        (
            "怎么取消订单",
            "订单拍错了能取消吗",
            "还没发货能取消吗",
            "不想要了怎么取消订单",
            "取消订单钱怎么退",
            "已发货的订单可以取消吗",
        ),
        (
            "How do I cancel my order?",
            "I ordered by mistake",
            "Can I cancel before it ships?",
            "Cancel an order I placed",
            "What happens to my coupon if I cancel?",
            "Can I cancel a shipped order?",
        ),
    ),
    "exchange": (
        (
            "尺码不合适可以换吗",
            "怎么换货",
            "能换个尺码吗",
            "想换一个颜色",
            "换货需要运费吗",
            "大了想换小一码",
            "换颜色要钱吗",
        ),
        (
            "How do I exchange for another size?",
            "Can I swap for a different colour?",
            "The size doesn't fit",
            "Is an exchange free?",
            "Too big, I need a smaller size",
            "How long do I have to exchange?",
        ),
    ),
    "damaged": (
        (
            "收到的商品坏了",
            "商品有质量问题怎么办",
            "发错货了",
            "包裹里少了东西",
            "衣服有瑕疵",
            "收到的东西破损了",
        ),
        (
            "My item arrived damaged",
            "The product is faulty",
            "You sent the wrong item",
            "Something is missing from my parcel",
            "It has a defect",
            "The box was broken when it arrived",
        ),
    ),
    "levels": (
        (
            "会员等级怎么算",
            "怎么升级会员",
            "金卡会员有什么权益",
            "消费多少可以升铂金卡",
            "银卡需要消费多少",
            "升级要花多少钱",
            "会员等级什么时候更新",
        ),
        (
            "How do membership levels work?",
            "How do I upgrade my membership?",
            "What are the Gold benefits?",
            "How much to spend for Platinum?",
            "What does Silver membership need?",
            "When is my level recalculated?",
        ),
    ),
    "points": (
        (
            "积分怎么获得",
            "积分怎么抵扣",
            "积分会过期吗",
            "积分什么时候到账",
            "100积分抵多少钱",
            "积分最多能抵多少",
            "积分是怎么计算的",
        ),
        (
            "How do I earn points?",
            "How do I use points?",
            "When do points expire?",
            "When are my points credited?",
            "How much are 100 points worth?",
            "Can I pay with points?",
        ),
    ),
    "coupons": (
        (
            "优惠券怎么用",
            "优惠券用不了",
            "优惠券可以叠加吗",
            "一个订单能用几张券",
            "优惠券不能用是什么原因",
            "为什么下单时没有优惠券",
            "领的优惠券在哪里用",
        ),
        (
            "How do I use a coupon?",
            "My coupon doesn't work",
            "Can I combine coupons?",
            "How many coupons per order?",
            "Why is my voucher unavailable?",
            "Does a coupon work with the member discount?",
        ),
    ),
    "invoice": (
        (
            "怎么开发票",
            "能开增值税专用发票吗",
            "发票需要填什么",
            "电子发票什么时候发",
            "发票金额包括积分吗",
            "怎么申请发票",
        ),
        (
            "How do I get an invoice?",
            "Can I get a VAT special invoice?",
            "I need a fapiao for my company",
            "When will I receive the electronic invoice?",
            "What does the invoice amount include?",
            "Where do I request an invoice?",
        ),
    ),
    "store_hours": (
        ("门店营业时间", "门店几点开门", "门店在哪里", "线下门店地址", "节假日门店营业吗", "可以去门店退换货吗"),
        (
            "What are your opening hours?",
            "When do stores open?",
            "Where are your stores?",
            "Store address",
            "Are stores open on holidays?",
            "Can I return an online order in a store?",
        ),
    ),
    "payment": (
        (
            "支持什么支付方式",
            "可以用支付宝吗",
            "能用花呗分期吗",
            "支持微信支付吗",
            "付款失败怎么办",
            "可以用信用卡吗",
            "银行卡可以付款吗",
        ),
        (
            "What payment methods do you accept?",
            "Can I pay with WeChat Pay?",
            "Do you take Visa?",
            "Can I pay with Huabei instalments?",
            "My payment failed",
            "Do you accept UnionPay?",
        ),
    ),
    "account": (
        (
            "怎么修改手机号",
            "换手机号了怎么办",
            "怎么修改个人资料",
            "原手机号不用了怎么换绑",
            "怎么修改邮箱",
            "怎么改生日",
        ),
        (
            "How do I change my phone number?",
            "How do I edit my profile?",
            "I no longer have my old phone number",
            "How do I change my email?",
            "Update my birthday",
            "Change my account details",
        ),
    ),
    "unsubscribe": (
        (
            "怎么退订短信",
            "不想收到营销短信",
            "邮件订阅怎么取消",
            "广告短信太多了",
            "怎么关闭营销消息",
            "回复TD能退订吗",
        ),
        (
            "How do I unsubscribe?",
            "Stop sending me marketing emails",
            "I don't want promotional messages",
            "How do I stop text messages?",
            "Turn off marketing messages",
            "Unsubscribe from the newsletter",
        ),
    ),
}

# Variants in other styles (slang, typos, fragments, mixed language), written from the article texts;
# none within a character-pair Jaccard of 0.6 of a labelled question.
STYLED_VARIANTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "returns": (
        (
            "吊牌还在能退不",
            "买错了想退 怎么弄",
            "退货运费我出还是你们出",
            "收到第五天了还能退吗",
            "定制的东西可以退吗",
            "想退货 return怎么申请",
            "个人原因退货要自己付邮费吗",
            "穿过一次还能退吗",
        ),
        (
            "can i send it back if i changed my mind",
            "retrun policy?",
            "return window how many days",
            "tags still on, can i return",
            "do i pay postage to send it back",
            "how to request a return",
            "returning something i bought last week",
            "opened makeup return ok?",
            "wanna return my jeans",
        ),
    ),
    "refund_time": (
        (
            "支付宝退款多久到",
            "仓库签收了还没退钱",
            "退货寄回去了钱呢",
            "退款超过7天没到怎么办",
            "退回去的钱会到哪",
        ),
        (
            "how long for my money to come back",
            "when do i get refunded",
            "returned it, still no money",
            "wheres my refund",
            "is the refund instant with alipay",
            "money back takes how long",
        ),
    ),
    "shipping_time": (
        (
            "付款后多久发",
            "预售什么时候发",
            "寄到外地要几天",
            "江浙沪几天到",
            "多久能收到货",
            "下单了还没发货正常吗",
        ),
        (
            "how fast do u ship",
            "when does my order get sent out",
            "dispatch time?",
            "if i pay now when will it leave",
            "pre order ship date",
            "delivery time to other cities",
        ),
    ),
    "tracking": (
        (
            "物流信息在哪看",
            "怎么查快递到哪了",
            "包裹一直不动",
            "用单号能在快递官网查吗",
            "看不到物流进度",
            "快递公司是哪家",
        ),
        (
            "how do i check where the parcel is",
            "tracking not updating for days",
            "which courier are you using",
            "can i track it on the courier website",
            "trackin info?",
            "package status where to check",
        ),
    ),
    "change_address": (
        (
            "地址填错了",
            "下单后能改地址吗",
            "收件地址想换一个",
            "能不能让快递改派",
            "地址少写了门牌号",
            "改收货人地址",
            "想寄到另一个地方",
        ),
        (
            "can i change the shipping address",
            "order already shipped, can the address be changed",
            "redirect my parcel to another address",
            "i put the wrong street",
            "change adress pls",
        ),
    ),
    "cancel_order": (
        (
            "拍错了能取消吗",
            "不想要了 订单怎么撤销",
            "取消订单优惠券还能用吗",
            "刚下的单想取消",
        ),
        (
            "can i still cancel after it ships",
            "cancle order",
            "undo my purchase",
            "how to cancel before shipping",
        ),
    ),
    "exchange": (
        (
            "码数不对能换吗",
            "换码多久寄新的",
            "十五天内可以换吗",
            "穿着小了换大一号",
            "想换别的款",
        ),
        (
            "is an exchange free",
            "how do i exchange shoes that don't fit",
            "can i exchange twice",
            "wrong size want another one",
            "size swap how",
            "exchange it for a different product",
            "how long do i have to exchange",
        ),
    ),
    "damaged": (
        (
            "收到的东西是坏的",
            "包装破了里面东西也坏了",
            "质量有问题 怎么售后",
            "开线了",
            "颜色发错了",
            "拍照售后怎么弄",
        ),
        (
            "something is missing from my order",
            "the product is faulty",
            "there's a stain on it",
            "box was crushed and item damaged",
            "received the wrong colour",
            "defective, what do i do",
            "who pays postage for a faulty item",
            "zipper broke first day",
        ),
    ),
    "levels": (
        (
            "会员等级怎么算的",
            "银卡什么权益",
            "我是什么等级",
        ),
        (
            "how do i get gold",
            "membership tiers explained",
            "whats the difference between silver and gold",
            "platinum perks",
            "when is my level updated",
            "how to upgrade my membership",
        ),
    ),
    "points": (
        (
            "积分能抵钱吗",
            "100积分抵多少",
            "积分会清零吗",
            "积分最多抵多少",
            "金卡积分几倍",
        ),
        (
            "what can i do with points",
            "when are points credited",
            "how much are 100 points worth",
            "points not showing up",
            "gold members earn more points?",
        ),
    ),
    "coupons": (
        (
            "券用不了",
            "优惠券过期了",
            "优惠券和会员折扣能叠加吗",
            "下单时怎么选券",
        ),
        (
            "can i use two coupons",
            "discount code invalid",
            "voucher expired can i still use it",
            "does the coupon stack with the member discount",
            "where do i enter my coupon",
            "promo code wont apply",
        ),
    ),
    "invoice": (
        (
            "怎么开票",
            "开发票要税号吗",
            "发票金额包括积分抵扣吗",
            "发票在哪申请",
        ),
        (
            "vat invoice possible?",
            "when will the e-invoice arrive",
            "receipt for my order",
            "invoice with company tax number",
            "where do i request an invoice",
            "does the invoice include the coupon discount",
        ),
    ),
    "store_hours": (
        (
            "店里几点关门",
            "附近有实体店吗",
        ),
        (
            "what time do you open",
            "when does the shop close",
            "any stores near me",
            "shop open late?",
        ),
    ),
    "payment": (
        (
            "花呗分期可以吗",
            "能刷银联卡吗",
            "门店收现金吗",
            "支付不了",
        ),
        (
            "payment failed what now",
            "unionpay accepted?",
            "do stores take cash",
        ),
    ),
    "account": (
        (
            "原来的号停用了",
            "生日填错了",
            "改邮箱在哪",
            "收不到验证码 旧号码不用了",
            "账户信息怎么修改",
            "登录手机号想换",
        ),
        (
            "update my email",
            "wrong birthday on my account",
            "edit profile",
            "account settings where",
        ),
    ),
    "unsubscribe": (
        (
            "别再发短信了",
            "怎么退订邮件",
            "关掉推送消息",
            "短信怎么取消订阅",
            "邮件广告怎么关",
        ),
        (
            "stop the spam texts",
            "turn off promo sms",
            "stop emailing me",
            "no more ads pls",
        ),
    ),
}
QUESTION_VARIANTS = {
    key: (zh + STYLED_VARIANTS.get(key, ((), ()))[0], en + STYLED_VARIANTS.get(key, ((), ()))[1])
    for key, (zh, en) in PLAIN_VARIANTS.items()
}

CANNED_REPLIES = [
    (
        "收到 Acknowledge (zh)",
        "",
        "{customer_name}，您好！您的问题（工单 {ticket_number}）我们已经收到，正在为您处理，请稍候。——{agent_name}",
    ),
    (
        "Acknowledge (en)",
        "",
        "Hello {customer_name}, thank you for writing. We have your request {ticket_number} and are looking into it. "
        "— {agent_name}",
    ),
    (
        "破损补发 Damaged: replacement",
        "after_sales",
        "{customer_name}，非常抱歉商品出现问题。我们已为订单 {order_number} 安排补发，新商品将在24小时内寄出，"
        "无需寄回原商品。给您带来不便，敬请谅解。——{agent_name}",
    ),
    (
        "投诉致歉 Complaint apology",
        "complaint",
        "{customer_name}，您好，非常抱歉给您带来了不好的体验。您反馈的问题我们已记录并转交{store_name}负责人，"
        "会在1个工作日内给您答复。——{agent_name}",
    ),
    (
        "Need photos (en)",
        "after_sales",
        "Hello {customer_name}, we are sorry about this. Could you send us photos of the box, the item and the "
        "problem? We will arrange a replacement or refund for order {order_number} as soon as we have them. "
        "— {agent_name}",
    ),
]

SLA_TARGETS = {"urgent": (30, 240, 15), "high": (60, 480, 30), "normal": (240, 1440, 60), "low": (480, 2880, 120)}


def topic_of_title(title: str) -> str | None:
    for topic in TOPICS:
        if title in (topic.zh[0], topic.en[0]):
            return topic.key
    return None


def seed_knowledge_base(actor: Actor) -> int:
    """Write the articles (published) and their categories; returns how many articles were written."""
    categories = {}
    for position, name in enumerate(CATEGORIES):
        existing = ArticleCategory.objects.filter(name=name).first()
        categories[name] = existing or kb.save_category(name=name, position=position, actor=actor)
    written = 0
    for topic in TOPICS:
        variants = QUESTION_VARIANTS.get(topic.key, ((), ()))
        for language, (title, keywords, body), questions in (
            ("zh-hans", topic.zh, variants[0]),
            ("en", topic.en, variants[1]),
        ):
            article = kb.save_article(
                data={
                    "title": title,
                    "keywords": keywords,
                    "body": body,
                    "language": language,
                    "category": categories[topic.category],
                    "state": "published",
                },
                actor=actor,
            )
            for question in questions:
                kb.add_question(article, text=question, source=ArticleQuestion.Source.SEED, actor=actor)
            written += 1
    return written


def seed_settings(actor: Actor) -> int:
    """SLA policies, default opening hours (09:00–21:00 every day) and canned replies."""
    for priority, (first, resolution, warn) in SLA_TARGETS.items():
        SlaPolicy.objects.update_or_create(
            priority=priority,
            defaults={"first_response_minutes": first, "resolution_minutes": resolution, "warn_before_minutes": warn},
        )
    for weekday in range(7):
        BusinessHours.objects.update_or_create(
            store=None, weekday=weekday, defaults={"opens": dt.time(9), "closes": dt.time(21)}
        )
    for title, category, body in CANNED_REPLIES:
        if not CannedReply.objects.filter(title=title).exists():
            services.save_canned_reply(data={"title": title, "body": body, "category": category}, actor=actor)
    return len(CANNED_REPLIES)
