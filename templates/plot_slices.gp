reset
{{setup}}
set terminal pngcairo size 900,{{height}} font "sans,10" noenhanced
set output '{{png}}'
set title 'Error rate of each slice with its 95% interval (red mark: the error rate of the whole split)'
set xrange [0:*]
set yrange [] reverse
set offsets 0, 0, 0.6, 0.6
unset grid
set grid xtics lc rgb '#dddddd'
set ytics scale 0
set key below
if ({{has2}}) {
	plot '{{labels}}' using (NaN):1:yticlabels(2) notitle, \
	     '{{data}}' using (0):1:(0):2:($1-0.32):($1+0.32) with boxxyerror fc rgb '#9ec3e6' title columnheader(2), \
	     '{{data2}}' using (0):1:(0):2:($1-0.32):($1+0.32) with boxxyerror fc rgb '#f3b37c' title columnheader(2), \
	     '{{data}}' using 2:1:3:4 with xerrorbars pt 7 ps 0.5 lc rgb '#1f3f66' notitle, \
	     '{{data2}}' using 2:1:3:4 with xerrorbars pt 7 ps 0.5 lc rgb '#8a3b00' notitle, \
	     '{{data}}' using 5:($1-0.42):(0):(0.84) with vectors nohead lw 3 lc rgb '#c0392b' title columnheader(5), \
	     '{{data2}}' using 5:($1-0.42):(0):(0.84) with vectors nohead lw 3 lc rgb '#c0392b' notitle
} else {
	plot '{{labels}}' using (NaN):1:yticlabels(2) notitle, \
	     '{{data}}' using (0):1:(0):2:($1-0.32):($1+0.32) with boxxyerror fc rgb '#9ec3e6' title columnheader(2), \
	     '{{data}}' using 2:1:3:4 with xerrorbars pt 7 ps 0.5 lc rgb '#1f3f66' notitle, \
	     '{{data}}' using 5:($1-0.42):(0):(0.84) with vectors nohead lw 3 lc rgb '#c0392b' title columnheader(5)
}
unset output
