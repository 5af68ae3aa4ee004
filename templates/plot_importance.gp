reset
{{setup}}
set output '{{png}}'
set title 'Permutation importance on the surrogate, with 95% intervals: what the model relies on, per split'
set ylabel 'accuracy drop when permuted'
set offsets 0.5, 0.5, 0, 0
set boxwidth 0.38
set xtics rotate by 30 right
set key below
if ({{has2}}) {
	plot 'importance.tsv' using ($1-0.2):3:xticlabels(2) with boxes fc rgb '#9ec3e6' title columnheader(3), \
	     '' using ($1+0.2):6 with boxes fc rgb '#f3b37c' title columnheader(6), \
	     '' using ($1-0.2):3:4:5 with yerrorbars pt 0 lc rgb '#1f3f66' notitle, \
	     '' using ($1+0.2):6:7:8 with yerrorbars pt 0 lc rgb '#8a3b00' notitle
} else {
	plot 'importance.tsv' using 1:3:xticlabels(2) with boxes fc rgb '#9ec3e6' title columnheader(3), \
	     '' using 1:3:4:5 with yerrorbars pt 0 lc rgb '#1f3f66' notitle
}
unset output
