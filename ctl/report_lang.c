/* Vietnamese and English wording of the monthly report. The Vietnamese
 * follows the ministry's letters: "băng rộng cố định", "băng rộng di
 * động", "đạt"/"chưa đạt" chỉ tiêu; decimal comma, dot between thousands. */
#include "report_lang.h"

#include <stdio.h>
#include <string.h>

static const report_words vi = {
    .code = "vi",
    .title = "Báo cáo kết quả đo tốc độ truy cập Internet tháng %02d/%04d",
    .target = "Chỉ tiêu: %u mẫu đo hợp lệ mỗi tháng cho mỗi %s, tính riêng từng loại mạng.",
    .levels3 = "tỉnh, huyện và xã",
    .levels2 = "tỉnh và xã",
    .net = {"băng rộng cố định", "băng rộng di động"},
    .net_cap = {"Băng rộng cố định", "Băng rộng di động"},
    .net_short = {"Cố định", "Di động"},
    .nation = "Cả nước",
    .by_province = "Theo tỉnh, thành phố",
    .col_code = "Mã",
    .col_province = "Tỉnh/thành phố",
    .col_unit = "Đơn vị",
    .col_level = "Cấp",
    .col_network = "Loại mạng",
    .col_samples = "Số mẫu đo",
    .col_prov_met = "Tỉnh đạt",
    .col_dist_met = "Huyện đạt",
    .col_comm_met = "Xã đạt",
    .col_target = "Chỉ tiêu",
    .col_agents = "Máy đo",
    .col_met_one = "Xã đạt 1 máy",
    .agents_note = "Máy đo: số máy đo khác nhau (ispeed-agent) đã gửi mẫu hợp lệ. Xã đạt 1 máy: xã đạt chỉ tiêu "
                   "chỉ với mẫu đo của một máy; 300 mẫu của một máy không phải là 300 mẫu của cả xã.",
    .col_unattested = "Chưa xác thực",
    .unattested = "Mẫu chưa xác thực (không có biên nhận máy chủ, không tính vào chỉ tiêu)",
    .unattested_note = "Chưa xác thực: mẫu đo hợp lệ không có biên nhận của máy chủ đo (ví dụ máy chủ LibreSpeed; "
                       "collector --attestation optional), được tính riêng: không cộng vào Số mẫu đo, không tính vào "
                       "chỉ tiêu.",
    .summary3 = "%s: %s số tỉnh đạt chỉ tiêu; %s số huyện và %s số xã chưa đạt.",
    .summary2 = "%s: %s số tỉnh đạt chỉ tiêu; %s số xã chưa đạt.",
    .behind = "Đơn vị chưa đạt chỉ tiêu",
    .level = {"", "tỉnh", "huyện", "xã"},
    .met = "đạt",
    .not_met = "chưa đạt",
    .all_met = "Mọi đơn vị đã đạt chỉ tiêu.",
    .updated = "Số liệu cập nhật đến %s (UTC+7).",
    .no_data = "Chưa có số liệu.",
    .no_registry = "Không có danh mục đơn vị hành chính (--units): chỉ tính các đơn vị đã có mẫu đo.",
    .chart = "%s: số mẫu đo cộng dồn theo ngày so với tiến độ cần đạt",
    .pace = "tiến độ cần đạt",
    .target_line = "chỉ tiêu",
    .day = "ngày",
    .chart_replay = "Số liệu của tháng được nạp lại sau khi tháng kết thúc: chỉ có số cuối tháng.",
    .agents = "Số máy đo (tình nguyện viên) khác nhau",
    .recruit = "Danh sách cần tuyển thêm tình nguyện viên",
    .recruit_about = "Các xã không thể đạt chỉ tiêu với số máy đo hiện có, kể cả khi đo với tần suất tối đa, "
                     "và số tình nguyện viên cần tuyển thêm theo từng loại mạng.",
    .recruit_none = "Không xã nào cần tuyển thêm tình nguyện viên.",
    .recruit_closed = "Tháng đã kết thúc: không còn cần tuyển cho tháng này.",
    .recruit_total = "Tổng số cần tuyển thêm",
    .col_needed = "Còn thiếu",
    .col_days_left = "Số ngày còn lại",
    .col_rate_needed = "Mẫu/ngày cần đạt",
    .col_per_agent = "Mẫu/ngày mỗi máy",
    .col_recruit = "Cần tuyển thêm",
};

static const report_words en = {
    .code = "en",
    .title = "Internet access speed measurement report, %02d/%04d",
    .target = "Target: %u valid samples a month for every %s, per network class.",
    .levels3 = "province, district and commune",
    .levels2 = "province and commune",
    .net = {"fixed broadband", "mobile broadband"},
    .net_cap = {"Fixed broadband", "Mobile broadband"},
    .net_short = {"Fixed", "Mobile"},
    .nation = "Nationwide",
    .by_province = "By province",
    .col_code = "Code",
    .col_province = "Province",
    .col_unit = "Unit",
    .col_level = "Level",
    .col_network = "Network",
    .col_samples = "Samples",
    .col_prov_met = "Provinces met",
    .col_dist_met = "Districts met",
    .col_comm_met = "Communes met",
    .col_target = "Target",
    .col_agents = "Agents",
    .col_met_one = "Met, 1 agent",
    .agents_note = "Agents: distinct agents (ispeed-agent) that sent valid samples. Met, 1 agent: communes that met "
                   "the target with one agent's samples only; 300 samples from one machine are not 300 samples of a "
                   "commune.",
    .col_unattested = "Unattested",
    .unattested = "Unattested samples (no server receipt, not counted toward the target)",
    .unattested_note = "Unattested: valid samples without a test server's receipt (LibreSpeed backends, say; "
                       "collector --attestation optional), counted apart: never in Samples, not counted toward the "
                       "target.",
    .summary3 = "%s: %s of provinces met the target; %s of districts, %s of communes did not.",
    .summary2 = "%s: %s of provinces met the target; %s of communes did not.",
    .behind = "Units below the target",
    .level = {"", "province", "district", "commune"},
    .met = "met",
    .not_met = "not met",
    .all_met = "Every unit met the target.",
    .updated = "Figures as of %s (UTC+7).",
    .no_data = "No figures yet.",
    .no_registry = "No registry (--units): only units with samples are counted.",
    .chart = "%s: cumulative samples per day against the pace to the target",
    .pace = "pace to the target",
    .target_line = "target",
    .day = "day",
    .chart_replay = "The month was loaded after it ended: only its final count is known.",
    .agents = "Distinct agents (volunteers' machines)",
    .recruit = "Recruiting list",
    .recruit_about = "Communes that cannot reach the target with the agents they have, even testing as often as "
                     "allowed, and how many more volunteers each needs per network class.",
    .recruit_none = "No commune needs more volunteers.",
    .recruit_closed = "The month is over: nothing left to recruit for.",
    .recruit_total = "Volunteers to recruit",
    .col_needed = "Still needed",
    .col_days_left = "Days left",
    .col_rate_needed = "Needed a day",
    .col_per_agent = "A day per agent",
    .col_recruit = "To recruit",
};

const report_words *report_words_for(enum report_lang lang) {
    return lang == REPORT_LANG_EN ? &en : &vi;
}

void report_share(char *out, size_t outsz, enum report_lang lang, size_t part, size_t total) {
    if (total == 0) {
        snprintf(out, outsz, "–");
        return;
    }
    /* Tenths, rounded half up, in integers: no locale, no binary surprise. */
    unsigned long long tenths = ((unsigned long long)part * 2000ULL / total + 1) / 2;
    snprintf(out, outsz, "%llu%c%llu%%", tenths / 10, lang == REPORT_LANG_VI ? ',' : '.', tenths % 10);
}

void report_ratio(char *out, size_t outsz, enum report_lang lang, size_t part, size_t total) {
    char share[32], a[32], b[32];
    if (total == 0) {
        snprintf(out, outsz, "–");
        return;
    }
    report_share(share, sizeof share, lang, part, total);
    report_number(a, sizeof a, lang, part);
    report_number(b, sizeof b, lang, total);
    snprintf(out, outsz, "%s/%s (%s)", a, b, share);
}

void report_number(char *out, size_t outsz, enum report_lang lang, uint64_t v) {
    char digits[32], buf[48];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v), k = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) buf[k++] = lang == REPORT_LANG_VI ? '.' : ',';
        buf[k++] = digits[i];
    }
    buf[k] = '\0';
    snprintf(out, outsz, "%s", buf);
}

void report_agents(char *out, size_t outsz, enum report_lang lang, uint64_t agents, uint64_t samples) {
    if (agents == 0 && samples > 0) snprintf(out, outsz, "–");
    else report_number(out, outsz, lang, agents);
}
