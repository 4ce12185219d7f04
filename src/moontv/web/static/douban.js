/* Douban browse page (/douban?type=movie|tv|show|anime|custom): selectors, multi-level filters,
   infinite scroll (25 per page, until an empty page), Bangumi daily calendar for anime.
   Every chip selection is a generation: answers of an older one are dropped. One page is in flight at a
   time; after a page is appended the page keeps loading while the sentinel is still near the viewport
   (an IntersectionObserver only reports changes, so a tall screen would otherwise stop after page 1). */
(() => {
  "use strict";
  const M = window.MoonTV;
  const root = document.getElementById("douban");
  if (!M || !root) return;
  const { el } = M;
  const boot = (M.boot && M.boot.page) || {};
  const type = boot.type || root.dataset.type || "movie";
  const PAGE = 25;
  const ALL = "all";

  const YEARS = ["2020年代", "2025", "2024", "2023", "2022", "2021", "2020", "2019", "2010年代", "2000年代", "90年代", "80年代", "70年代", "60年代", "更早"];
  const REGIONS = ["华语", "欧美", "韩国", "日本", "中国大陆", "美国", "中国香港", "中国台湾", "英国", "法国", "德国", "意大利", "西班牙", "印度", "泰国", "俄罗斯", "加拿大", "澳大利亚", "爱尔兰", "瑞典", "巴西", "丹麦"];
  const MOVIE_GENRES = ["喜剧", "爱情", "动作", "科幻", "动画", "悬疑", "犯罪", "惊悚", "冒险", "音乐", "历史", "奇幻", "恐怖", "战争", "传记", "歌舞", "武侠", "情色", "灾难", "西部", "纪录片", "短片"];
  const TV_GENRES = ["喜剧", "爱情", "悬疑", "武侠", "古装", "家庭", "犯罪", "科幻", "恐怖", "历史", "战争", "动作", "冒险", "传记", "剧情", "奇幻", "惊悚", "灾难", "歌舞", "音乐"];
  const SHOW_GENRES = ["真人秀", "脱口秀", "音乐", "歌舞"];
  const ANIME_LABELS = ["黑色幽默", "历史", "歌舞", "传记", "治愈", "冒险", "战争", "科幻", "恋爱", "热血", "搞笑", "青春", "奇幻", "悬疑", "日常", "萌系", "运动"];
  const PLATFORMS = ["腾讯视频", "爱奇艺", "优酷", "湖南卫视", "Netflix", "HBO", "BBC", "NHK", "CBS", "NBC", "tvN"];
  // chip options are [label, value]
  const SORTS = [["综合排序", "T"], ["近期热度", "U"], ["首播时间", "R"], ["高分优先", "S"]];
  const WEEKDAYS = [["周一", "1"], ["周二", "2"], ["周三", "3"], ["周四", "4"], ["周五", "5"], ["周六", "6"], ["周日", "7"]];

  const filterSet = (genreKey, genres, withPlatform) => [
    { key: genreKey, label: "类型", options: genres },
    { key: "region", label: "地区", options: REGIONS },
    { key: "year", label: "年代", options: YEARS },
    ...(withPlatform ? [{ key: "platform", label: "平台", options: PLATFORMS }] : []),
    { key: "sort", label: "排序", options: SORTS, none: "T" },
  ];

  const VIEWS = {
    movie: {
      primary: [["全部", ALL], ["热门", "热门"], ["最新", "最新"], ["豆瓣高分", "豆瓣高分"], ["冷门佳片", "冷门佳片"]],
      primaryDefault: "热门",
      secondary: () => [["全部", "全部"], ["华语", "华语"], ["欧美", "欧美"], ["韩国", "韩国"], ["日本", "日本"]],
      filters: () => filterSet("category", MOVIE_GENRES, false),
      url(p, s, f, start) {
        if (p === ALL) return recommends("movie", f, start);
        return `/api/douban/categories?kind=movie&category=${enc(p)}&type=${enc(s)}&limit=${PAGE}&start=${start}`;
      },
    },
    tv: {
      primary: [["全部", ALL], ["最近热门", "recent"]],
      primaryDefault: "recent",
      secondary: () => [["全部", "tv"], ["国产", "tv_domestic"], ["欧美", "tv_american"], ["日本", "tv_japanese"], ["韩国", "tv_korean"], ["动漫", "tv_animation"], ["纪录片", "tv_documentary"]],
      filters: () => filterSet("category", TV_GENRES, true),
      url(p, s, f, start) {
        if (p === ALL) return recommends("tv", { ...f, format: "电视剧" }, start);
        return `/api/douban/categories?kind=tv&category=tv&type=${enc(s)}&limit=${PAGE}&start=${start}`;
      },
    },
    show: {
      primary: [["全部", ALL], ["最近热门", "recent"]],
      primaryDefault: "recent",
      secondary: () => [["全部", "show"], ["国内", "show_domestic"], ["国外", "show_foreign"]],
      filters: () => filterSet("category", SHOW_GENRES, true),
      url(p, s, f, start) {
        if (p === ALL) return recommends("tv", { ...f, format: "综艺" }, start);
        return `/api/douban/categories?kind=tv&category=show&type=${enc(s)}&limit=${PAGE}&start=${start}`;
      },
    },
    anime: {
      primary: [["每日放送", "daily"], ["番剧", "series"], ["剧场版", "film"]],
      primaryDefault: "daily",
      secondary: (p) => (p === "daily" ? WEEKDAYS : []),
      secondaryDefault: () => String(((new Date().getDay() + 6) % 7) + 1),
      filters: (p) => (p === "series" ? filterSet("label", ANIME_LABELS, true) : p === "film" ? filterSet("category", ANIME_LABELS, false).map((x) => (x.key === "category" ? { ...x, key: "label" } : x)) : []),
      url(p, s, f, start) {
        if (p === "series") return recommends("tv", { ...f, category: "动画", format: "电视剧" }, start);
        return recommends("movie", { ...f, category: "动画" }, start);
      },
    },
    custom: {
      primary: customTypes(),
      primaryDefault: customTypes().length ? customTypes()[0][1] : "",
      secondary: (p) => (boot.custom || []).filter((c) => c.type === p).map((c) => [c.name || c.query, c.query]),
      filters: () => [],
      url(p, s, f, start) {
        return `/api/douban?type=${enc(p)}&tag=${enc(s)}&pageSize=${PAGE}&pageStart=${start}`;
      },
    },
  };

  function customTypes() {
    const types = new Set((boot.custom || []).map((c) => c.type));
    return [["电影", "movie"], ["剧集", "tv"]].filter(([, v]) => types.has(v));
  }
  function enc(v) { return encodeURIComponent(v); }
  function recommends(kind, f, start) {
    const params = new URLSearchParams({ kind, limit: String(PAGE), start: String(start) });
    for (const [name, value] of Object.entries(f)) if (value && value !== ALL) params.set(name, value);
    return `/api/douban/recommends?${params}`;
  }

  const view = VIEWS[type] || VIEWS.movie;
  const MARGIN = 600;  // px below the viewport at which the next page is fetched
  const AUTO_PAGES = 8;  // pages fetched in a row without the user scrolling, before asking with a button
  const st = {
    primary: view.primaryDefault, secondary: null, filters: {},
    gen: 0, page: 0, loading: false, done: false, failed: false, chained: 0,
  };
  const grid = document.getElementById("douban-grid");
  const status = document.getElementById("douban-status");
  const filtersBox = document.getElementById("douban-filters");
  const sentinel = document.getElementById("douban-sentinel");

  function chips(label, options, current, onPick, name) {
    return el("div", { class: "chips", role: "group", "aria-label": label, "data-name": name },
      el("span", { class: "chips-label", text: label }),
      options.map(([text, value]) => el("button", {
        type: "button", class: "chip", "data-value": value, "aria-pressed": String(value === current),
        text, onclick: () => { if (value !== current) onPick(value); },
      })));
  }

  function renderFilters() {
    filtersBox.replaceChildren();
    if (!view.primary.length) {
      status.textContent = "暂无启用的自定义分类";
      return false;
    }
    filtersBox.append(chips("分类", view.primary, st.primary, (v) => { st.primary = v; st.secondary = null; st.filters = {}; reset(); }, "primary"));
    const secondary = view.secondary(st.primary);
    if (secondary.length) {
      if (st.secondary === null || !secondary.some(([, v]) => v === st.secondary)) {
        st.secondary = view.secondaryDefault ? view.secondaryDefault(st.primary) : secondary[0][1];
      }
      filtersBox.append(chips(type === "anime" ? "星期" : "类型", secondary, st.secondary, (v) => { st.secondary = v; reset(); }, "secondary"));
    }
    const multi = st.primary === ALL || (type === "anime" && st.primary !== "daily") ? view.filters(st.primary) : [];
    for (const f of multi) {
      const options = f.options.map((o) => (Array.isArray(o) ? o : [o, o]));
      const none = f.none || ALL;
      const all = f.none ? options : [["全部", ALL], ...options];
      filtersBox.append(chips(f.label, all, st.filters[f.key] || none, (v) => { st.filters[f.key] = v; reset(); }, f.key));
    }
    return true;
  }

  /* A new selection: a new generation, nothing in flight for it yet, an empty grid. */
  function reset() {
    st.gen += 1;
    st.page = 0;
    st.loading = false;
    st.done = false;
    st.failed = false;
    st.chained = 0;
    grid.replaceChildren();
    status.replaceChildren();
    if (renderFilters()) loadMore();
    else st.done = true;
  }

  function cardOf(item, source) {
    const params = { title: item.title, year: item.year, stype: type === "movie" ? "movie" : null };
    return M.card({ title: item.title, poster: item.poster, rate: item.rate, meta: [item.year], href: M.playHref(params), kind: source });
  }

  function button(id, text, onClick) {
    return el("button", { type: "button", class: "btn btn-soft", id, text, onclick: () => {
      status.tabIndex = -1;
      status.focus();  // the button is about to be replaced by the progress text
      onClick();
    } });
  }

  /* Fetches the next page of the current generation; true when more pages may follow. */
  async function fetchPage(gen) {
    if (type === "anime" && st.primary === "daily") {
      const days = await M.api("/api/bangumi/calendar", { quiet: true });
      if (gen !== st.gen) return false;
      const day = days.find((d) => String(d.weekday && d.weekday.id) === st.secondary) || { items: [] };
      grid.replaceChildren(...day.items.map((i) => cardOf(i, "bangumi")));
      st.done = true;
      status.textContent = day.items.length ? "" : "暂无内容";
      return false;
    }
    const data = await M.api(view.url(st.primary, st.secondary, st.filters, st.page * PAGE), { quiet: true });
    if (gen !== st.gen) return false;
    const items = ((data && data.list) || []).filter((i) => i && typeof i.title === "string" && i.title);
    grid.append(...items.map((i) => cardOf(i, "douban")));
    st.page += 1;
    if (!items.length) st.done = true;
    status.textContent = st.done ? (grid.children.length ? "没有更多了" : "暂无内容") : "";
    return !st.done;
  }

  async function loadMore() {
    if (st.loading || st.done || st.failed) return;
    const gen = st.gen;
    st.loading = true;
    status.textContent = M.t("loading");
    let more = false;
    try {
      more = await fetchPage(gen);
    } catch (e) {
      if (gen === st.gen) {
        st.failed = true;
        status.replaceChildren(`${M.t("load_failed")} `, button("douban-retry", M.t("retry"), () => {
          st.failed = false;
          st.chained = 0;
          loadMore();
        }));
      }
    } finally {
      if (gen === st.gen) st.loading = false;
    }
    if (more && gen === st.gen) fillViewport();
  }

  function sentinelNear() {
    if (!sentinel || !grid.getClientRects().length) return false;
    return sentinel.getBoundingClientRect().top < window.innerHeight + MARGIN;
  }

  /* After a page: keep going while the screen is not filled, up to AUTO_PAGES in a row. */
  function fillViewport() {
    if (st.loading || st.done || st.failed || !sentinelNear()) return;
    if (st.chained >= AUTO_PAGES) {
      if (!document.getElementById("douban-more")) status.replaceChildren(button("douban-more", M.t("load_more"), () => { st.chained = 0; loadMore(); }));
      return;
    }
    st.chained += 1;
    loadMore();
  }

  /* The user scrolled the sentinel (back) into range: a new run of automatic pages may start. */
  function sentinelReached() {
    st.chained = 0;
    loadMore();
  }

  if ("IntersectionObserver" in window && sentinel) {
    let near = null;  // unknown until the first report, which is no scroll of the user's
    new IntersectionObserver((entries) => {
      const now = entries[entries.length - 1].isIntersecting;
      const cameBack = now && near === false;
      near = now;
      if (cameBack) sentinelReached();
      else if (now) fillViewport();
    }, { rootMargin: `${MARGIN}px` }).observe(sentinel);
  }
  /* Scrolling checks too: the observer reports only a change from the state it last computed, so a page
     appended and scrolled past before its next computation would go unnoticed. */
  let scrollQueued = false;
  window.addEventListener("scroll", () => {
    if (scrollQueued || st.loading || st.done || st.failed) return;
    scrollQueued = true;
    requestAnimationFrame(() => { scrollQueued = false; if (sentinelNear()) sentinelReached(); });
  }, { passive: true });
  window.addEventListener("resize", fillViewport, { passive: true });
  reset();
})();
