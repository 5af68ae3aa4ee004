reset
{{setup}}
set output '{{png}}'
set title '{{ylabel}} per segment value, with 95% intervals (dashed: the whole split)'
set ylabel '{{ylabel}}'
set yrange [0:*]
set offsets 0.5, 0.5, 0, 0
set xtics rotate by 30 right
if ({{has2}}) {
	plot '{{labels}}' using 1:(NaN):xticlabels(2) notitle, \
	     '{{data}}' using 1:3:4:5 with yerrorbars pt 7 lc rgb '#2c6fbb' title columnheader(3), \
	     '{{data2}}' using 1:3:4:5 with yerrorbars pt 5 lc rgb '#d95f02' title columnheader(3), \
	     '{{data}}' using 1:6 with lines dt 2 lc rgb '#2c6fbb' title columnheader(6), \
	     '{{data2}}' using 1:6 with lines dt 2 lc rgb '#d95f02' title columnheader(6)
} else {
	plot '{{labels}}' using 1:(NaN):xticlabels(2) notitle, \
	     '{{data}}' using 1:3:4:5 with yerrorbars pt 7 lc rgb '#2c6fbb' title columnheader(3), \
	     '{{data}}' using 1:6 with lines dt 2 lc rgb '#2c6fbb' title columnheader(6)
}
unset output
