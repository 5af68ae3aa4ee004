reset
{{setup}}
set output '{{png}}'
set title 'Drift per feature against train: PSI (log scale), largest first; diamonds: drifted (significant and large)'
set ylabel 'PSI'
set logscale y
set offsets 0.5, 0.5, 0, 0
set boxwidth 0.38
set xtics rotate by 30 right
set key below
if ({{has2}}) {
	plot 'drift.tsv' using ($1-0.2):3:xticlabels(2) with boxes fc rgb '#9ec3e6' title columnheader(3), \
	     '' using ($1+0.2):5 with boxes fc rgb '#f3b37c' title columnheader(5), \
	     '' using ($1-0.2):($4 > 0 ? $3 * 1.6 : NaN) with points pt 13 ps 1.3 lc rgb '#c0392b' title 'drifted', \
	     '' using ($1+0.2):($6 > 0 ? $5 * 1.6 : NaN) with points pt 13 ps 1.3 lc rgb '#c0392b' notitle, \
	     0.1 with lines dt 2 lc rgb '#888888' title 'PSI 0.1 (moderate)', \
	     0.25 with lines dt 3 lc rgb '#555555' title 'PSI 0.25 (large)'
} else {
	plot 'drift.tsv' using 1:3:xticlabels(2) with boxes fc rgb '#9ec3e6' title columnheader(3), \
	     '' using 1:($4 > 0 ? $3 * 1.6 : NaN) with points pt 13 ps 1.3 lc rgb '#c0392b' title 'drifted', \
	     0.1 with lines dt 2 lc rgb '#888888' title 'PSI 0.1 (moderate)', \
	     0.25 with lines dt 3 lc rgb '#555555' title 'PSI 0.25 (large)'
}
unset output
