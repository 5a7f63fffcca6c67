package demo

// The fixed reference data of the demo company: cities, products, names and
// texts. Order matters: generation picks from these tables by index.

// city is a place customers live in and orders ship to.
type city struct {
	en, zh     string
	province   string
	provinceZh string
	region     int
	weight     float64 // relative share of customers
}

// Regions, as the CRM stores them, with their Chinese names.
var regions = []struct{ en, zh string }{
	{"East", "华东"}, {"North", "华北"}, {"South", "华南"}, {"Central", "华中"},
	{"Southwest", "西南"}, {"Northwest", "西北"}, {"Northeast", "东北"},
}

const (
	rEast = iota
	rNorth
	rSouth
	rCentral
	rSouthwest
	rNorthwest
	rNortheast
)

var cities = []city{
	{"Shanghai", "上海", "Shanghai", "上海", rEast, 9},
	{"Beijing", "北京", "Beijing", "北京", rNorth, 8},
	{"Guangzhou", "广州", "Guangdong", "广东", rSouth, 6},
	{"Shenzhen", "深圳", "Guangdong", "广东", rSouth, 6},
	{"Hangzhou", "杭州", "Zhejiang", "浙江", rEast, 5},
	{"Chengdu", "成都", "Sichuan", "四川", rSouthwest, 5},
	{"Chongqing", "重庆", "Chongqing", "重庆", rSouthwest, 4},
	{"Wuhan", "武汉", "Hubei", "湖北", rCentral, 4},
	{"Nanjing", "南京", "Jiangsu", "江苏", rEast, 4},
	{"Suzhou", "苏州", "Jiangsu", "江苏", rEast, 4},
	{"Xi'an", "西安", "Shaanxi", "陕西", rNorthwest, 3},
	{"Tianjin", "天津", "Tianjin", "天津", rNorth, 3},
	{"Changsha", "长沙", "Hunan", "湖南", rCentral, 3},
	{"Zhengzhou", "郑州", "Henan", "河南", rCentral, 3},
	{"Qingdao", "青岛", "Shandong", "山东", rEast, 2.5},
	{"Jinan", "济南", "Shandong", "山东", rEast, 2},
	{"Xiamen", "厦门", "Fujian", "福建", rEast, 2},
	{"Fuzhou", "福州", "Fujian", "福建", rEast, 2},
	{"Quanzhou", "泉州", "Fujian", "福建", rEast, 1.5},
	{"Ningbo", "宁波", "Zhejiang", "浙江", rEast, 2},
	{"Wenzhou", "温州", "Zhejiang", "浙江", rEast, 1.5},
	{"Wuxi", "无锡", "Jiangsu", "江苏", rEast, 1.5},
	{"Hefei", "合肥", "Anhui", "安徽", rEast, 2},
	{"Dongguan", "东莞", "Guangdong", "广东", rSouth, 2},
	{"Foshan", "佛山", "Guangdong", "广东", rSouth, 2},
	{"Nanning", "南宁", "Guangxi", "广西", rSouth, 1.5},
	{"Haikou", "海口", "Hainan", "海南", rSouth, 1},
	{"Nanchang", "南昌", "Jiangxi", "江西", rCentral, 1.5},
	{"Shenyang", "沈阳", "Liaoning", "辽宁", rNortheast, 2},
	{"Dalian", "大连", "Liaoning", "辽宁", rNortheast, 1.5},
	{"Harbin", "哈尔滨", "Heilongjiang", "黑龙江", rNortheast, 1.5},
	{"Changchun", "长春", "Jilin", "吉林", rNortheast, 1.2},
	{"Kunming", "昆明", "Yunnan", "云南", rSouthwest, 1.5},
	{"Guiyang", "贵阳", "Guizhou", "贵州", rSouthwest, 1.2},
	{"Lhasa", "拉萨", "Tibet", "西藏", rSouthwest, 0.3},
	{"Shijiazhuang", "石家庄", "Hebei", "河北", rNorth, 1.5},
	{"Taiyuan", "太原", "Shanxi", "山西", rNorth, 1.2},
	{"Hohhot", "呼和浩特", "Inner Mongolia", "内蒙古", rNorth, 0.8},
	{"Lanzhou", "兰州", "Gansu", "甘肃", rNorthwest, 1},
	{"Urumqi", "乌鲁木齐", "Xinjiang", "新疆", rNorthwest, 0.8},
	{"Yinchuan", "银川", "Ningxia", "宁夏", rNorthwest, 0.5},
	{"Xining", "西宁", "Qinghai", "青海", rNorthwest, 0.4},
}

// Product categories: code (English, modern system) and Chinese name.
var categories = []struct {
	en, zh string
	weight float64 // general share of order lines
}{
	{"Tea", "茶叶", 30},
	{"Snacks", "零食", 28},
	{"Kitchenware", "厨具", 15},
	{"Teaware", "茶具", 11},
	{"Gifts", "礼品", 16},
}

const (
	catTea = iota
	catSnacks
	catKitchen
	catTeaware
	catGifts
)

// product is one catalogue item; price is the list price in fen (cents).
type product struct {
	code     string
	en, zh   string
	category int
	price    int64
}

var products = []product{
	{"TEA-001", "West Lake Longjing 250g", "西湖龙井 250克", catTea, 26800},
	{"TEA-002", "Anxi Tieguanyin 250g", "安溪铁观音 250克", catTea, 16800},
	{"TEA-003", "Pu'er Tea Cake 357g", "普洱茶饼 357克", catTea, 19800},
	{"TEA-004", "Wuyi Dahongpao 200g", "武夷大红袍 200克", catTea, 22800},
	{"TEA-005", "Dongting Biluochun 200g", "洞庭碧螺春 200克", catTea, 15800},
	{"TEA-006", "Jasmine Tea 250g", "茉莉花茶 250克", catTea, 6800},
	{"TEA-007", "Keemun Black Tea 200g", "祁门红茶 200克", catTea, 12800},
	{"TEA-008", "Anji White Tea 150g", "安吉白茶 150克", catTea, 23800},
	{"TEA-009", "Fenghuang Dancong 200g", "凤凰单丛 200克", catTea, 18800},
	{"TEA-010", "Junshan Yinzhen 100g", "君山银针 100克", catTea, 29800},
	{"TEA-011", "Lapsang Souchong 200g", "正山小种 200克", catTea, 13800},
	{"TEA-012", "White Peony 300g", "白牡丹 300克", catTea, 11800},
	{"TEA-013", "Tea Bag Sampler 30 bags", "袋泡茶组合 30袋", catTea, 3990},
	{"TEA-014", "Chrysanthemum Tea 100g", "杭白菊 100克", catTea, 2990},
	{"TEA-015", "Lemon Black Tea 20 bags", "柠檬红茶 20袋", catTea, 2500},
	{"SNK-001", "Roasted Sunflower Seeds 500g", "原味瓜子 500克", catSnacks, 1290},
	{"SNK-002", "Spicy Beef Jerky 200g", "麻辣牛肉干 200克", catSnacks, 4500},
	{"SNK-003", "Dried Mango 250g", "芒果干 250克", catSnacks, 2290},
	{"SNK-004", "Daily Mixed Nuts 30 packs", "每日坚果 30袋", catSnacks, 8900},
	{"SNK-005", "Haw Flakes 300g", "山楂片 300克", catSnacks, 990},
	{"SNK-006", "Sesame Brittle 400g", "芝麻糖 400克", catSnacks, 1580},
	{"SNK-007", "Pineapple Cakes 12 pcs", "凤梨酥 12枚", catSnacks, 5800},
	{"SNK-008", "Egg Rolls 400g", "鸡蛋卷 400克", catSnacks, 3200},
	{"SNK-009", "Spicy Duck Neck 500g", "卤鸭脖 500克", catSnacks, 3990},
	{"SNK-010", "Paper-shell Walnuts 500g", "纸皮核桃 500克", catSnacks, 4990},
	{"SNK-011", "Pistachios 400g", "开心果 400克", catSnacks, 5900},
	{"SNK-012", "Five-spice Dried Tofu 300g", "五香豆干 300克", catSnacks, 1350},
	{"SNK-013", "Rice Crackers 400g", "米饼 400克", catSnacks, 1680},
	{"SNK-014", "Roasted Seaweed 12 packs", "海苔 12包", catSnacks, 1990},
	{"SNK-015", "Preserved Plums 250g", "话梅 250克", catSnacks, 1190},
	{"KIT-001", "Cast Iron Wok 32cm", "铸铁炒锅 32厘米", catKitchen, 19900},
	{"KIT-002", "Chinese Chef's Knife", "中式菜刀", catKitchen, 12800},
	{"KIT-003", "Bamboo Steamer 2 tiers", "竹蒸笼 两层", catKitchen, 6900},
	{"KIT-004", "Rice Cooker 4L", "电饭煲 4升", catKitchen, 39900},
	{"KIT-005", "Clay Pot 2.5L", "砂锅 2.5升", catKitchen, 8800},
	{"KIT-006", "Bamboo Cutting Board", "竹砧板", catKitchen, 5900},
	{"KIT-007", "Electric Kettle 1.7L", "电热水壶 1.7升", catKitchen, 14900},
	{"KIT-008", "Chopsticks Set 10 pairs", "筷子套装 10双", catKitchen, 3900},
	{"KIT-009", "Ceramic Bowl Set", "陶瓷碗套装", catKitchen, 9900},
	{"KIT-010", "Vacuum Flask 500ml", "保温杯 500毫升", catKitchen, 11900},
	{"KIT-011", "Soy Milk Maker", "豆浆机", catKitchen, 49900},
	{"KIT-012", "Air Fryer 5L", "空气炸锅 5升", catKitchen, 45900},
	{"TWR-001", "Yixing Clay Teapot", "宜兴紫砂壶", catTeaware, 68000},
	{"TWR-002", "Porcelain Gaiwan", "白瓷盖碗", catTeaware, 8900},
	{"TWR-003", "Bamboo Tea Tray", "竹制茶盘", catTeaware, 25900},
	{"TWR-004", "Glass Teapot 600ml", "玻璃茶壶 600毫升", catTeaware, 7900},
	{"TWR-005", "Travel Tea Set", "便携旅行茶具", catTeaware, 12900},
	{"TWR-006", "Tasting Cups 6 pcs", "品茗杯 6只", catTeaware, 6900},
	{"TWR-007", "Tin Tea Caddy", "锡制茶叶罐", catTeaware, 4900},
	{"TWR-008", "Kungfu Tea Set", "功夫茶具套装", catTeaware, 36800},
	{"GFT-001", "Mid-Autumn Mooncake Box", "中秋月饼礼盒", catGifts, 28800},
	{"GFT-002", "Spring Festival Hamper", "春节年货礼盒", catGifts, 46800},
	{"GFT-003", "Premium Tea Gift Box", "高档茶叶礼盒", catGifts, 59800},
	{"GFT-004", "Gift Card 500", "礼品卡 500元", catGifts, 50000},
	{"GFT-005", "Nut Gift Box", "坚果礼盒", catGifts, 16800},
	{"GFT-006", "Silk Scarf", "真丝围巾", catGifts, 22800},
	{"GFT-007", "Blue-and-white Porcelain Vase", "青花瓷花瓶", catGifts, 88800},
	{"GFT-008", "Dragon Boat Zongzi Box", "端午粽子礼盒", catGifts, 15800},
	{"GFT-009", "Four Treasures of the Study", "文房四宝套装", catGifts, 35800},
	{"GFT-010", "Baijiu and Tea Gift Set", "白酒茶叶礼盒", catGifts, 128000},
}

// Surnames with pinyin, roughly by frequency (the weight).
var surnames = []struct {
	zh, py string
	weight float64
}{
	{"王", "Wang", 7.1}, {"李", "Li", 7.0}, {"张", "Zhang", 6.7}, {"刘", "Liu", 5.4},
	{"陈", "Chen", 4.5}, {"杨", "Yang", 3.1}, {"黄", "Huang", 2.2}, {"赵", "Zhao", 2.0},
	{"吴", "Wu", 1.9}, {"周", "Zhou", 1.9}, {"徐", "Xu", 1.5}, {"孙", "Sun", 1.5},
	{"马", "Ma", 1.4}, {"朱", "Zhu", 1.3}, {"胡", "Hu", 1.3}, {"郭", "Guo", 1.2},
	{"何", "He", 1.2}, {"高", "Gao", 1.1}, {"林", "Lin", 1.1}, {"罗", "Luo", 1.0},
	{"郑", "Zheng", 1.0}, {"梁", "Liang", 1.0}, {"谢", "Xie", 0.8}, {"宋", "Song", 0.8},
	{"唐", "Tang", 0.8}, {"许", "Xu", 0.7}, {"韩", "Han", 0.7}, {"冯", "Feng", 0.7},
	{"邓", "Deng", 0.7}, {"曹", "Cao", 0.7}, {"彭", "Peng", 0.6}, {"曾", "Zeng", 0.6},
	{"肖", "Xiao", 0.6}, {"田", "Tian", 0.6}, {"董", "Dong", 0.5}, {"袁", "Yuan", 0.5},
	{"潘", "Pan", 0.5}, {"于", "Yu", 0.5}, {"蒋", "Jiang", 0.5}, {"蔡", "Cai", 0.5},
	{"余", "Yu", 0.5}, {"杜", "Du", 0.5}, {"叶", "Ye", 0.5}, {"程", "Cheng", 0.5},
	{"苏", "Su", 0.4}, {"魏", "Wei", 0.4}, {"吕", "Lv", 0.4}, {"丁", "Ding", 0.4},
	{"任", "Ren", 0.4}, {"沈", "Shen", 0.4}, {"姚", "Yao", 0.4}, {"卢", "Lu", 0.4},
	{"姜", "Jiang", 0.4}, {"崔", "Cui", 0.3}, {"钟", "Zhong", 0.3}, {"谭", "Tan", 0.3},
	{"陆", "Lu", 0.3}, {"汪", "Wang", 0.3}, {"范", "Fan", 0.3}, {"金", "Jin", 0.3},
	{"石", "Shi", 0.3}, {"廖", "Liao", 0.3}, {"贾", "Jia", 0.3}, {"夏", "Xia", 0.3},
	{"韦", "Wei", 0.3}, {"方", "Fang", 0.3}, {"白", "Bai", 0.3}, {"邹", "Zou", 0.3},
	{"孟", "Meng", 0.3}, {"熊", "Xiong", 0.3}, {"秦", "Qin", 0.3}, {"邱", "Qiu", 0.3},
	{"江", "Jiang", 0.3}, {"尹", "Yin", 0.2}, {"薛", "Xue", 0.2}, {"段", "Duan", 0.2},
	{"雷", "Lei", 0.2}, {"侯", "Hou", 0.2}, {"龙", "Long", 0.2}, {"史", "Shi", 0.2},
	{"陶", "Tao", 0.2}, {"黎", "Li", 0.2}, {"贺", "He", 0.2}, {"顾", "Gu", 0.2},
	{"毛", "Mao", 0.2}, {"郝", "Hao", 0.2}, {"龚", "Gong", 0.2}, {"邵", "Shao", 0.2},
	{"万", "Wan", 0.2}, {"钱", "Qian", 0.2}, {"严", "Yan", 0.2}, {"武", "Wu", 0.2},
	{"戴", "Dai", 0.2}, {"莫", "Mo", 0.2}, {"孔", "Kong", 0.2}, {"汤", "Tang", 0.2},
}

// Characters of given names with pinyin.
var givenChars = []struct{ zh, py string }{
	{"伟", "wei"}, {"芳", "fang"}, {"娜", "na"}, {"敏", "min"}, {"静", "jing"},
	{"丽", "li"}, {"强", "qiang"}, {"磊", "lei"}, {"军", "jun"}, {"洋", "yang"},
	{"勇", "yong"}, {"艳", "yan"}, {"杰", "jie"}, {"娟", "juan"}, {"涛", "tao"},
	{"明", "ming"}, {"超", "chao"}, {"秀", "xiu"}, {"霞", "xia"}, {"平", "ping"},
	{"刚", "gang"}, {"桂", "gui"}, {"英", "ying"}, {"华", "hua"}, {"玉", "yu"},
	{"兰", "lan"}, {"萍", "ping"}, {"红", "hong"}, {"鹏", "peng"}, {"辉", "hui"},
	{"建", "jian"}, {"文", "wen"}, {"斌", "bin"}, {"宇", "yu"}, {"浩", "hao"},
	{"凯", "kai"}, {"健", "jian"}, {"俊", "jun"}, {"帆", "fan"}, {"帅", "shuai"},
	{"旭", "xu"}, {"宁", "ning"}, {"龙", "long"}, {"林", "lin"}, {"欢", "huan"},
	{"阳", "yang"}, {"佳", "jia"}, {"婷", "ting"}, {"雪", "xue"}, {"倩", "qian"},
	{"琳", "lin"}, {"晨", "chen"}, {"欣", "xin"}, {"怡", "yi"}, {"梓", "zi"},
	{"涵", "han"}, {"子", "zi"}, {"轩", "xuan"}, {"博", "bo"}, {"思", "si"},
	{"雨", "yu"}, {"嘉", "jia"}, {"诗", "shi"}, {"晓", "xiao"}, {"志", "zhi"},
	{"海", "hai"}, {"春", "chun"}, {"东", "dong"}, {"慧", "hui"}, {"颖", "ying"},
	{"亮", "liang"}, {"成", "cheng"}, {"国", "guo"}, {"云", "yun"}, {"飞", "fei"},
	{"丹", "dan"}, {"玲", "ling"}, {"燕", "yan"}, {"梅", "mei"}, {"松", "song"},
}

// Words for company names and the trades they are in.
var companyWords = []struct{ zh, py string }{
	{"鑫源", "Xinyuan"}, {"恒泰", "Hengtai"}, {"华信", "Huaxin"}, {"瑞丰", "Ruifeng"},
	{"宏达", "Hongda"}, {"嘉禾", "Jiahe"}, {"永盛", "Yongsheng"}, {"金诚", "Jincheng"},
	{"东方", "Dongfang"}, {"天润", "Tianrun"}, {"博远", "Boyuan"}, {"新世纪", "Xinshiji"},
	{"汇通", "Huitong"}, {"中联", "Zhonglian"}, {"远航", "Yuanhang"}, {"盛世", "Shengshi"},
	{"明德", "Mingde"}, {"云海", "Yunhai"}, {"锦程", "Jincheng"}, {"和美", "Hemei"},
}

var trades = []struct{ zh, en, slug string }{
	{"贸易有限公司", "Trading Co., Ltd.", "trading"},
	{"科技有限公司", "Technology Co., Ltd.", "tech"},
	{"酒店管理有限公司", "Hotel Management Co., Ltd.", "hotels"},
	{"餐饮管理有限公司", "Catering Co., Ltd.", "catering"},
	{"文化传媒有限公司", "Media Co., Ltd.", "media"},
	{"建设工程有限公司", "Construction Co., Ltd.", "build"},
	{"物业服务有限公司", "Property Services Co., Ltd.", "property"},
	{"投资咨询有限公司", "Investment Consulting Co., Ltd.", "invest"},
}

// E-mail domains of individuals, with weights; qq.com addresses use a QQ number.
var emailDomains = []struct {
	domain string
	weight float64
}{
	{"qq.com", 30}, {"163.com", 22}, {"126.com", 9}, {"sina.com", 6}, {"foxmail.com", 6},
	{"outlook.com", 7}, {"gmail.com", 5}, {"hotmail.com", 4}, {"yeah.net", 3}, {"139.com", 4}, {"aliyun.com", 4},
}

// Mobile number prefixes (first three digits).
var mobilePrefixes = []string{
	"130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
	"145", "147", "150", "151", "152", "153", "155", "156", "157", "158",
	"159", "166", "170", "171", "173", "175", "176", "177", "178", "180",
	"181", "182", "183", "184", "185", "186", "187", "188", "189", "199",
}

// Ticket categories (spec order) and their subjects.
var ticketCategories = []string{"complaint", "inquiry", "return", "delivery", "billing"}

const (
	tkComplaint = iota
	tkInquiry
	tkReturn
	tkDelivery
	tkBilling
)

var ticketSubjects = [][]string{
	{"商品质量问题投诉", "客服态度差", "发货太慢", "礼盒包装破损", "商品与描述不符", "茶叶有异味", "多收了运费", "赠品没有收到"},
	{"咨询茶叶保存方法", "询问会员积分", "咨询企业团购", "询问发票开具", "咨询新品上市时间", "询问门店营业时间"},
	{"申请退货", "申请退款", "商品退换", "尺寸不合适要求换货"},
	{"快递未送达", "物流信息不更新", "修改配送地址", "快递员未联系"},
	{"发票抬头错误", "重复扣款", "优惠券未生效", "积分未到账"},
}

// Interaction topics.
var (
	topicsInbound  = []string{"order status", "product question", "delivery", "invoice", "account update", "feedback"}
	topicsOutbound = []string{"promotion", "follow-up", "satisfaction call", "membership renewal", "new arrivals"}
)

// Survey comments by mood (bad, neutral, good); some have ASCII commas.
var surveyComments = [][]string{
	{"客服处理太慢", "收到的礼盒有破损，很失望", "退款流程太复杂", "价格贵, 质量一般", "物流太慢了"},
	{"还可以", "一般般，价格有点贵", "包装可以再简单一些", "希望多一些优惠"},
	{"茶叶很香，包装精美", "物流很快，满意", "性价比高，会回购", "送礼很有面子", "Good quality, fast delivery", "客服很耐心"},
}

// opportunity stages.
var openStages = []string{"prospecting", "qualification", "proposal", "negotiation"}
