// The kasync dashboard: plain browser JavaScript over the HTTP API, no build step. The form's
// choices and defaults come from the API's own schema (GET /openapi.json), so the page cannot
// offer what the API would refuse.
(() => {
  const POLL_RUNNING_MS = 1000;
  const POLL_FINISHED_MS = 4000;
  const RATE_WINDOW_S = 3;
  /** Suggested parameters when a straggler distribution is picked (seconds per mini-batch). */
  const STRAGGLER_SUGGESTIONS = { rate: 10, shift: 0.05, scale: 0.02, shape: 1.5 };

  const $ = (selector) => document.querySelector(selector);
  const form = $('#job-form');
  const charts = {};
  let jobSpecSchema;
  let selected = null;
  /** The selected job's commits so far: each poll asks only for the versions it may not have. */
  let commits = [];
  let pollTimer = null;

  // ---- API ----

  async function api(path, init) {
    const response = await fetch(path, init);
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
    return body;
  }

  // ---- the form, from the schema ----

  function schemaAt(path) {
    let node = jobSpecSchema;
    for (const key of path.split('.')) node = node.properties[key];
    return node;
  }

  function fillSelect(name, values, chosen) {
    const select = form.elements[name];
    select.replaceChildren(...values.map((value) => new Option(value, value, false, value === chosen)));
  }

  function setupForm(schema) {
    jobSpecSchema = schema;
    // Models and datasets are a name or an object (a user's ONNX model, a CSV): the form offers the names.
    const names = (path) => schemaAt(path).anyOf.find((branch) => branch.type === 'string').enum;
    fillSelect('model', names('model'), 'softmax');
    fillSelect('dataset', names('dataset'), 'mnist');
    fillSelect('variant', schemaAt('variant').enum, schemaAt('variant').default);
    fillSelect('lr.schedule', schemaAt('lr.schedule').enum, schemaAt('lr.schedule').default);
    const distributions = schemaAt('stragglers').oneOf;
    fillSelect(
      'stragglers.distribution',
      distributions.map((branch) => branch.properties.distribution.const),
      'none',
    );
    for (const input of form.querySelectorAll('input[name]')) {
      const node = schemaAt(input.name);
      if (node.default !== undefined) input.value = node.default;
    }
    form.elements['lr.schedule'].addEventListener('change', showScheduleFields);
    form.elements['stragglers.distribution'].addEventListener('change', showStragglerFields);
    showScheduleFields();
    showStragglerFields();
  }

  function showScheduleFields() {
    const schedule = form.elements['lr.schedule'].value;
    for (const label of form.querySelectorAll('[data-for-schedule]'))
      label.hidden = label.dataset.forSchedule !== schedule;
  }

  function showStragglerFields() {
    const distribution = form.elements['stragglers.distribution'].value;
    const branch = schemaAt('stragglers').oneOf.find((b) => b.properties.distribution.const === distribution);
    const params = Object.keys(branch.properties).filter((key) => key !== 'distribution');
    $('#straggler-params').replaceChildren(
      ...params.map((key) => {
        const label = document.createElement('label');
        const input = Object.assign(document.createElement('input'), {
          name: `stragglers.${key}`,
          type: 'number',
          step: 'any',
          value: STRAGGLER_SUGGESTIONS[key] ?? '',
        });
        label.append(`${key} `, input);
        return label;
      }),
    );
  }

  /** The spec the form describes; empty and hidden fields are left out so the API's defaults apply. */
  function specFromForm() {
    const spec = {};
    for (const element of form.elements) {
      if (!element.name || element.value === '' || element.closest('[hidden]')) continue;
      const value = element.type === 'number' ? Number(element.value) : element.value;
      const path = element.name.split('.');
      let node = spec;
      for (const key of path.slice(0, -1)) node = node[key] ??= {};
      node[path[path.length - 1]] = value;
    }
    return spec;
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    $('#form-error').textContent = '';
    $('#start').disabled = true;
    try {
      const { jobId } = await api('/jobs', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(specFromForm()),
      });
      location.hash = jobId;
      await refreshJobs();
    } catch (error) {
      $('#form-error').textContent = error.message;
    } finally {
      $('#start').disabled = false;
    }
  });

  // ---- the job list ----

  const fixed = (value, digits) => (value === null || value === undefined ? '–' : value.toFixed(digits));

  async function refreshJobs() {
    const { jobs } = await api('/jobs');
    $('#jobs tbody').replaceChildren(
      ...jobs.map((job) => {
        const row = document.createElement('tr');
        row.dataset.jobId = job.jobId;
        row.className = job.jobId === selected ? 'selected' : '';
        const cells = [
          job.jobId,
          job.status,
          `${job.variant} ${job.learners}/${job.k}`,
          job.version,
          fixed(job.testAccuracy, 3),
        ];
        row.replaceChildren(
          ...cells.map((text, i) => {
            const cell = document.createElement('td');
            cell.textContent = text;
            if (i === 1) cell.className = `status ${job.status}`;
            return cell;
          }),
        );
        row.addEventListener('click', () => {
          location.hash = job.jobId;
        });
        return row;
      }),
    );
  }

  $('#stop').addEventListener('click', async () => {
    if (selected) await api(`/jobs/${selected}/stop`, { method: 'POST' }).catch(showPollError);
    schedulePoll(0);
  });

  // ---- one job ----

  function select(jobId) {
    selected = jobId || null;
    commits = [];
    $('#job').hidden = !selected;
    $('#empty').hidden = Boolean(selected);
    for (const row of document.querySelectorAll('#jobs tbody tr'))
      row.className = row.dataset.jobId === selected ? 'selected' : '';
    for (const chart of Object.values(charts)) chart.plot.destroy();
    for (const key of Object.keys(charts)) delete charts[key];
    $('#timeline').replaceChildren();
    if (!selected) return;
    $('#job-id').textContent = selected;
    $('#download').href = `/jobs/${selected}/model`;
    schedulePoll(0);
  }

  function schedulePoll(delay) {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, delay);
  }

  async function poll() {
    const jobId = selected;
    if (!jobId) return;
    let running = true;
    try {
      // An evaluation lands on its commit just after the commit: versions after the last
      // evaluated one this page has may still get theirs, so they are asked for again.
      const evaluated = commits.filter((c) => c.eval);
      const since = evaluated.length > 0 ? evaluated[evaluated.length - 1].version : 0;
      const [summary, recent] = await Promise.all([
        api(`/jobs/${jobId}`),
        api(`/jobs/${jobId}/metrics?since=${since}`),
      ]);
      if (jobId !== selected) return;
      commits = commits.filter((c) => c.version <= since).concat(recent.commits);
      const metrics = { ...recent, commits };
      running = summary.status === 'RUNNING';
      // The list refreshes on its own schedule; a job that just ended should not wait for it.
      if ($('#job-status').textContent !== summary.status) refreshJobs().catch(() => {});
      showSummary(summary);
      showCharts(metrics);
      drawTimeline(metrics);
    } catch (error) {
      showPollError(error);
    }
    if (jobId === selected) schedulePoll(running ? POLL_RUNNING_MS : POLL_FINISHED_MS);
  }

  function showPollError(error) {
    $('#job-reason').textContent = `(${error.message})`;
  }

  function showSummary(s) {
    $('#job-status').textContent = s.status;
    $('#job-status').className = `status ${s.status}`;
    $('#job-reason').textContent = s.reason ? `(${s.reason})` : '';
    $('#stop').disabled = s.status !== 'RUNNING';
    const tiles = [
      ['variant', `${s.variant} · P=${s.learners} · K=${s.k}`],
      ['updates', `${s.version} in ${s.elapsedSeconds.toFixed(0)} s`],
      ['updates/s', s.updatesPerSecond.toFixed(1)],
      ['train loss', fixed(s.loss, 4)],
      [
        'test accuracy',
        s.testAccuracy === null ? '–' : `${s.testAccuracy.toFixed(4)} @ v${s.evaluatedVersion}`,
      ],
      ['staleness', `mean ${s.staleness.mean.toFixed(2)} · max ${s.staleness.max}`],
      [
        'gradients',
        `${s.gradients.pushed} pushed · ${s.gradients.applied} applied · ${s.gradients.rejected} rejected`,
      ],
      ['cold starts', String(s.coldStarts)],
      ['est. AWS cost', `$${s.costUsd.toFixed(4)}`],
    ];
    $('#tiles').replaceChildren(
      ...tiles.flatMap(([name, value]) => {
        const wrapper = document.createElement('div');
        const dt = document.createElement('dt');
        const dd = document.createElement('dd');
        dt.textContent = name;
        dd.textContent = value;
        wrapper.append(dt, dd);
        return [wrapper];
      }),
    );
  }

  // ---- charts (uPlot) ----

  const COLORS = {
    train: '#2563eb',
    test: '#dc2626',
    rate: '#059669',
    staleness: '#7c3aed',
    eta: '#d97706',
    bars: '#7c3aed',
  };
  const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

  function seriesFromMetrics(metrics) {
    const t0 = metrics.createdAt;
    const commits = metrics.commits;
    const x = commits.map((c) => (c.at - t0) / 1000);
    const evaluated = commits.filter((c) => c.eval);
    let first = 0;
    const rate = x.map((t, i) => {
      while (x[first] <= t - RATE_WINDOW_S) first++;
      return (i - first + 1) / Math.min(RATE_WINDOW_S, Math.max(t, 0.001));
    });
    return {
      loss: [x, commits.map((c) => c.loss), commits.map((c) => (c.eval ? c.eval.loss : null))],
      accuracy: [evaluated.map((c) => (c.at - t0) / 1000), evaluated.map((c) => c.eval.accuracy)],
      rate: [x, rate],
      staleness: [
        x,
        commits.map((c) => mean(c.grads.map((g) => g.staleness))),
        commits.map((c) => mean(c.grads.map((g) => g.eta))),
      ],
    };
  }

  /** Exact, from the commit log (the summary's histogram folds large staleness into its last bucket). */
  function histogramSeries(metrics) {
    const counts = [];
    for (const commit of metrics.commits) {
      for (const { staleness } of commit.grads) {
        while (counts.length <= staleness) counts.push(0);
        counts[staleness] += 1;
      }
    }
    return [counts.map((_, i) => i), counts];
  }

  const timeAxis = { label: 's since start', scale: 'x' };

  const CHART_OPTIONS = {
    loss: () => ({
      series: [
        { label: 's' },
        { label: 'train', stroke: COLORS.train, width: 1.5 },
        { label: 'test', stroke: COLORS.test, width: 2, spanGaps: true, points: { show: true, size: 5 } },
      ],
      axes: [timeAxis, { label: 'loss' }],
    }),
    accuracy: () => ({
      series: [
        { label: 's' },
        { label: 'test accuracy', stroke: COLORS.test, width: 2, points: { show: true, size: 5 } },
      ],
      axes: [timeAxis, { label: 'accuracy' }],
    }),
    rate: () => ({
      series: [
        { label: 's' },
        { label: 'updates/s', stroke: COLORS.rate, width: 1.5, fill: 'rgba(5,150,105,0.08)' },
      ],
      axes: [timeAxis, { label: 'updates/s' }],
    }),
    staleness: () => ({
      series: [
        { label: 's' },
        { label: 'mean staleness', stroke: COLORS.staleness, width: 1, scale: 'staleness' },
        { label: 'mean eta', stroke: COLORS.eta, width: 1.5, scale: 'eta' },
      ],
      axes: [
        timeAxis,
        { label: 'staleness', scale: 'staleness' },
        { label: 'eta', scale: 'eta', side: 1, grid: { show: false } },
      ],
    }),
    histogram: () => ({
      // The number of buckets grows with the largest staleness seen: read it from the data.
      scales: { x: { range: (u) => [-0.5, Math.max(u.data[0].length, 2) - 0.5] } },
      series: [
        { label: 'staleness' },
        {
          label: 'gradients',
          fill: 'rgba(124,58,237,0.35)',
          stroke: COLORS.bars,
          paths: uPlot.paths.bars({ size: [0.7, 60] }),
          points: { show: false },
        },
      ],
      axes: [{ label: 'staleness', incrs: [1, 2, 5, 10, 20, 50, 100] }, { label: 'gradients' }],
    }),
  };

  function chartSize(element) {
    return { width: Math.max(280, element.clientWidth), height: 200 };
  }

  function showChart(name, data) {
    const element = $(`#chart-${name}`);
    element.dataset.points = String(data[0].length);
    if (charts[name]) {
      charts[name].plot.setData(data);
      return;
    }
    // The legend names the series; hover values would only repeat the axes.
    const options = { legend: { live: false }, ...CHART_OPTIONS[name](), ...chartSize(element) };
    options.scales = { ...options.scales, x: { time: false, ...options.scales?.x } };
    charts[name] = { plot: new uPlot(options, data, element) };
  }

  function showCharts(metrics) {
    const series = seriesFromMetrics(metrics);
    for (const name of ['loss', 'accuracy', 'rate', 'staleness']) showChart(name, series[name]);
    showChart('histogram', histogramSeries(metrics));
  }

  new ResizeObserver(() => {
    for (const [name, chart] of Object.entries(charts)) chart.plot.setSize(chartSize($(`#chart-${name}`)));
  }).observe($('.charts'));

  // ---- learner timeline (SVG) ----

  const SVG = 'http://www.w3.org/2000/svg';
  const ROW = 24;
  const LABEL_W = 44;
  const AXIS_H = 22;

  function svg(tag, attributes, title) {
    const element = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
    if (title) {
      const tooltip = document.createElementNS(SVG, 'title');
      tooltip.textContent = title;
      element.append(tooltip);
    }
    return element;
  }

  function niceStep(span) {
    const raw = span / 8;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    return [1, 2, 5, 10].map((m) => m * magnitude).find((step) => step >= raw);
  }

  /**
   * One row per learner, one bar per invocation. A learner records per invocation when it
   * started and ended, its cold start, and how long it computed and waited in total, so the
   * bar shows computing and waiting as shares; the ticks above it are the moments its
   * gradients were applied, which is where a straggler shows: long gaps between ticks.
   */
  function drawTimeline(metrics) {
    const container = $('#timeline');
    const t0 = metrics.createdAt;
    const end = metrics.finishedAt && metrics.learners.every(isDrained) ? lastEnd(metrics) : metrics.now;
    const span = Math.max(1, (end - t0) / 1000);
    const width = Math.max(400, container.clientWidth);
    const plotW = width - LABEL_W - 8;
    const height = AXIS_H + metrics.learners.length * ROW + 4;
    const x = (ms) => LABEL_W + (Math.max(0, ms - t0) / 1000 / span) * plotW;
    const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' });

    const step = niceStep(span);
    for (let s = 0; s <= span; s += step) {
      const px = LABEL_W + (s / span) * plotW;
      root.append(svg('line', { x1: px, x2: px, y1: AXIS_H - 4, y2: height, class: 'grid' }));
      const label = svg('text', { x: px, y: AXIS_H - 8, class: 'axis', 'text-anchor': 'middle' });
      label.textContent = `${Math.round(s * 10) / 10}`;
      root.append(label);
    }

    const appliedAt = new Map(metrics.learners.map((l) => [l.learner, []]));
    for (const commit of metrics.commits)
      for (const g of commit.grads) appliedAt.get(g.learner)?.push(commit.at);

    metrics.learners.forEach((learner, row) => {
      const y = AXIS_H + row * ROW;
      const group = svg('g', {
        'data-learner': learner.learner,
        'data-invocations': learner.invocations.length,
      });
      const name = svg('text', { x: 4, y: y + ROW / 2 + 4, class: 'axis' });
      name.textContent = learner.learner;
      group.append(name);
      for (const inv of learner.invocations) {
        const x0 = x(inv.start);
        const w = Math.max(1, x(inv.end) - x0);
        const duration = Math.max(1, inv.end - inv.start);
        const title =
          `${learner.learner} epoch ${inv.epoch}: ${((inv.end - inv.start) / 1000).toFixed(1)} s` +
          `${inv.coldStart ? `, cold start ${inv.initMs} ms` : ''}, computing ${(inv.busyMs / 1000).toFixed(1)} s,` +
          ` waiting ${(inv.idleMs / 1000).toFixed(1)} s, ${inv.pushed} gradients`;
        if (inv.coldStart) {
          const c0 = x(inv.start - inv.initMs);
          group.append(
            svg(
              'rect',
              { x: c0, y: y + 3, width: Math.max(2, x0 - c0), height: ROW - 8, class: 'cold' },
              title,
            ),
          );
        }
        group.append(svg('rect', { x: x0, y: y + 3, width: w, height: ROW - 8, class: 'invocation' }, title));
        const busyW = (w * Math.min(inv.busyMs, duration)) / duration;
        const idleW = (w * Math.min(inv.idleMs, duration - Math.min(inv.busyMs, duration))) / duration;
        group.append(svg('rect', { x: x0, y: y + 3, width: busyW, height: ROW - 8, class: 'busy' }, title));
        group.append(
          svg('rect', { x: x0 + w - idleW, y: y + 3, width: idleW, height: ROW - 8, class: 'idle' }, title),
        );
      }
      if (!isDrained(learner)) {
        // Claimed but not yet recorded: running since the previous invocation handed over.
        const previous = learner.invocations[learner.invocations.length - 1];
        const from = previous ? previous.end : t0;
        const title = `${learner.learner} epoch ${learner.epoch}: running`;
        group.append(
          svg(
            'rect',
            {
              x: x(from),
              y: y + 3,
              width: Math.max(2, x(metrics.now) - x(from)),
              height: ROW - 8,
              class: 'running',
            },
            title,
          ),
        );
      }
      for (const at of appliedAt.get(learner.learner) ?? []) {
        group.append(svg('line', { x1: x(at), x2: x(at), y1: y, y2: y + 4, class: 'tick' }));
      }
      root.append(group);
    });
    container.replaceChildren(root);
  }

  const isDrained = (learner) => learner.invocations.some((inv) => inv.epoch === learner.epoch);
  const lastEnd = (metrics) =>
    Math.max(metrics.finishedAt, ...metrics.learners.flatMap((l) => l.invocations.map((i) => i.end)));

  // ---- start ----

  window.addEventListener('hashchange', () => select(location.hash.slice(1)));

  async function start() {
    const openapi = await api('/openapi.json');
    setupForm(openapi.components.schemas.JobSpec);
    await refreshJobs().catch(showPollError);
    setInterval(() => refreshJobs().catch(() => {}), POLL_FINISHED_MS / 2);
    select(location.hash.slice(1));
  }

  start().catch((error) => {
    $('#form-error').textContent = `the dashboard could not start: ${error.message}`;
  });
})();
